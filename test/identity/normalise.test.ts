import { normalisePhone, normaliseEmail, normaliseUsername, normaliseMac, splitPhones, parseLoginIdentifier } from '../../src/identity/normalise.ts';

describe('normalisePhone', () => {
  test.each([
    ['13800138000', '+8613800138000'],
    ['138-0013-8000', '+8613800138000'],
    ['138 0013 8000', '+8613800138000'],
    ['+86 138 0013 8000', '+8613800138000'],
    ['86-13800138000', '+8613800138000'],
    ['008613800138000', '+8613800138000'],
    ['１３８００１３８０００', '+8613800138000'],
    ['+853 6612 3456', '+85366123456'],
    ['+852 9123 4567', '+85291234567'],
  ])('%s is %s', (input, expected) => {
    expect(normalisePhone(input)).toBe(expected);
  });

  test.each(['12345', '028-85331234', 'abc', '', '1380013800', '+86 138 0013 800', '23800138000'])(
    '%s is not a mobile number',
    (input) => expect(normalisePhone(input)).toBeNull(),
  );
});

test('splitPhones splits on every separator staff use', () => {
  expect(splitPhones('13800138000/13900139000')).toEqual(['13800138000', '13900139000']);
  expect(splitPhones('13800138000；139 0013 9000')).toEqual(['13800138000', '139 0013 9000']);
  expect(splitPhones('13800138000,13900139000;')).toEqual(['13800138000', '13900139000']);
});

describe('normaliseEmail', () => {
  test('lower-cases and trims, keeps dots and +tags', () => {
    expect(normaliseEmail('  Li.Lei+tv@QQ.COM ')).toBe('li.lei+tv@qq.com');
  });
  test('accepts letters of any script', () => {
    expect(normaliseEmail('张三@例子.中国')).toBe('张三@例子.中国');
  });
  test.each(['no-at-sign', 'a@b', 'a b@c.com', '@c.com', 'a@@c.com', 'x1,bob@qq.com', 'evil<bob@qq.com>', 'a;b@qq.com', '"bob"@qq.com', 'bob@qq.com (x)', 'a\u0000b@qq.com'])('rejects %s', (input) => {
    expect(normaliseEmail(input)).toBeNull();
  });
});

test('normaliseUsername folds width and case', () => {
  expect(normaliseUsername(' ＸｉａｏＭｉｎｇ ')).toBe('xiaoming');
  expect(normaliseUsername('小明')).toBe('小明');
  expect(normaliseUsername('has space')).toBeNull();
});

test('normaliseMac accepts the three legacy shapes', () => {
  for (const mac of ['AC:3A:7A:12:34:56', 'ac-3a-7a-12-34-56', 'AC3A7A123456']) {
    expect(normaliseMac(mac)).toBe('ac3a7a123456');
  }
  expect(normaliseMac('AC:3A:7A:12:34')).toBeNull();
});

describe('parseLoginIdentifier', () => {
  test('phone shapes become E.164', () => {
    expect(parseLoginIdentifier('138 0013 8000')).toEqual({ kind: 'phone', value: '+8613800138000' });
    expect(parseLoginIdentifier('+8613800138000')).toEqual({ kind: 'phone', value: '+8613800138000' });
  });
  test('emails are emails, even malformed ones are not usernames', () => {
    expect(parseLoginIdentifier('Xiao@Example.com')).toEqual({ kind: 'email', value: 'xiao@example.com' });
    expect(parseLoginIdentifier('xiao@')).toBeNull();
  });
  test('anything else is a username', () => {
    expect(parseLoginIdentifier('XiaoMing')).toEqual({ kind: 'username', value: 'xiaoming' });
    expect(parseLoginIdentifier('12345')).toEqual({ kind: 'username', value: '12345' });
  });
});
