import { csrfOf, type Browser, type CodePerson, type PasswordPerson } from './browser.ts';
import { formOn, submission } from './forms.ts';

/** The path and query of a URL on the server at `base`. */
function local(url: string, base: string): string {
  const target = new URL(url, base);
  if (target.origin !== new URL(base).origin) throw new Error(`left the server for ${target}`);
  return `${target.pathname}${target.search}`;
}

/** Opens /device and types a code into its form, as the person's browser would. */
export async function enterDeviceCode(agent: Browser, base: string, userCode: string) {
  const page = await agent.get('/device');
  const form = formOn(page.text, { id: 'op.deviceInputForm' });
  return agent.post(local(form.action, base)).type('form').send(submission(form, { typed: { user_code: userCode } }));
}

/**
 * The second screen of the device flow: a person opens /device on their phone, types the
 * code the TV shows, confirms, signs in (and consents) when asked. Returns the last page.
 */
export async function approveDevice(agent: Browser, base: string, userCode: string, person: PasswordPerson | CodePerson): Promise<string> {
  const confirmPage = await enterDeviceCode(agent, base, userCode);
  const confirm = formOn(confirmPage.text, { id: 'op.deviceConfirmForm' });
  let res = await agent.post(local(confirm.action, base)).type('form').send(submission(confirm));
  for (let step = 0; step < 20; step++) {
    if (res.status >= 300 && res.status < 400) {
      res = await agent.get(local(res.headers.location!, base));
      continue;
    }
    const interaction = /action="(\/interaction\/[^/"]+)\/(login|confirm)"/.exec(res.text);
    if (res.status !== 200 || !interaction) return res.text;
    const csrf = csrfOf(res.text);
    if (interaction[2] === 'confirm') {
      res = await agent.post(`${interaction[1]}/confirm`).type('form').send({ _csrf: csrf });
    } else if ('password' in person) {
      res = await agent.post(`${interaction[1]}/login`).type('form').send({ _csrf: csrf, identifier: person.identifier, password: person.password });
    } else {
      await agent.post(`${interaction[1]}/code/send`).type('form').send({ _csrf: csrf, target: person.target });
      res = await agent.post(`${interaction[1]}/code/verify`).type('form').send({ _csrf: csrf, target: person.target, code: person.readCode() });
    }
  }
  throw new Error('too many steps in the device flow');
}
