/** Word lists the synthetic people are made of. Every combination is made up. */

/** [hanzi, pinyin] */
export type Syllable = readonly [string, string];

export const SURNAMES: readonly Syllable[] = [
  ['王', 'wang'], ['李', 'li'], ['张', 'zhang'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'], ['赵', 'zhao'],
  ['黄', 'huang'], ['周', 'zhou'], ['吴', 'wu'], ['徐', 'xu'], ['孙', 'sun'], ['胡', 'hu'], ['朱', 'zhu'],
  ['高', 'gao'], ['林', 'lin'], ['何', 'he'], ['郭', 'guo'], ['马', 'ma'], ['罗', 'luo'], ['梁', 'liang'],
  ['宋', 'song'], ['郑', 'zheng'], ['谢', 'xie'], ['韩', 'han'], ['唐', 'tang'], ['冯', 'feng'], ['于', 'yu'],
  ['董', 'dong'], ['萧', 'xiao'], ['程', 'cheng'], ['曹', 'cao'], ['袁', 'yuan'], ['邓', 'deng'], ['许', 'xu'],
  ['傅', 'fu'], ['沈', 'shen'], ['曾', 'zeng'], ['彭', 'peng'], ['吕', 'lv'], ['苏', 'su'], ['卢', 'lu'],
  ['蒋', 'jiang'], ['蔡', 'cai'], ['贾', 'jia'], ['丁', 'ding'], ['魏', 'wei'], ['薛', 'xue'], ['叶', 'ye'],
  ['余', 'yu'], ['潘', 'pan'], ['杜', 'du'], ['戴', 'dai'], ['夏', 'xia'], ['钟', 'zhong'], ['汪', 'wang'],
  ['田', 'tian'], ['任', 'ren'], ['姜', 'jiang'], ['范', 'fan'], ['方', 'fang'], ['石', 'shi'], ['姚', 'yao'],
  ['谭', 'tan'], ['廖', 'liao'], ['邹', 'zou'], ['熊', 'xiong'], ['金', 'jin'], ['陆', 'lu'], ['郝', 'hao'],
  ['孔', 'kong'], ['白', 'bai'], ['崔', 'cui'], ['康', 'kang'], ['毛', 'mao'], ['邱', 'qiu'], ['秦', 'qin'],
  ['江', 'jiang'], ['史', 'shi'], ['顾', 'gu'], ['侯', 'hou'], ['邵', 'shao'], ['孟', 'meng'], ['龙', 'long'],
  ['万', 'wan'], ['段', 'duan'], ['雷', 'lei'], ['钱', 'qian'], ['汤', 'tang'], ['尹', 'yin'], ['易', 'yi'],
  ['常', 'chang'], ['武', 'wu'], ['乔', 'qiao'], ['贺', 'he'], ['赖', 'lai'], ['龚', 'gong'], ['文', 'wen'],
];

export const GIVEN_MALE: readonly Syllable[] = [
  ['伟', 'wei'], ['强', 'qiang'], ['磊', 'lei'], ['军', 'jun'], ['洋', 'yang'], ['勇', 'yong'], ['杰', 'jie'],
  ['涛', 'tao'], ['明', 'ming'], ['超', 'chao'], ['刚', 'gang'], ['建', 'jian'], ['文', 'wen'], ['辉', 'hui'],
  ['力', 'li'], ['鹏', 'peng'], ['宇', 'yu'], ['浩', 'hao'], ['波', 'bo'], ['斌', 'bin'], ['凯', 'kai'],
  ['峰', 'feng'], ['帅', 'shuai'], ['鑫', 'xin'], ['瑞', 'rui'], ['子', 'zi'], ['轩', 'xuan'], ['博', 'bo'],
  ['睿', 'rui'], ['然', 'ran'], ['亮', 'liang'], ['德', 'de'], ['泽', 'ze'], ['海', 'hai'], ['飞', 'fei'],
  ['龙', 'long'], ['成', 'cheng'], ['俊', 'jun'], ['昊', 'hao'], ['鸿', 'hong'], ['川', 'chuan'], ['国', 'guo'],
];

export const GIVEN_FEMALE: readonly Syllable[] = [
  ['芳', 'fang'], ['娜', 'na'], ['敏', 'min'], ['静', 'jing'], ['丽', 'li'], ['艳', 'yan'], ['娟', 'juan'],
  ['秀', 'xiu'], ['霞', 'xia'], ['平', 'ping'], ['桂', 'gui'], ['英', 'ying'], ['华', 'hua'], ['玉', 'yu'],
  ['萍', 'ping'], ['红', 'hong'], ['欣', 'xin'], ['佳', 'jia'], ['琳', 'lin'], ['雪', 'xue'], ['梅', 'mei'],
  ['兰', 'lan'], ['宁', 'ning'], ['婷', 'ting'], ['晨', 'chen'], ['思', 'si'], ['涵', 'han'], ['雨', 'yu'],
  ['萱', 'xuan'], ['嘉', 'jia'], ['倩', 'qian'], ['燕', 'yan'], ['慧', 'hui'], ['璐', 'lu'], ['诗', 'shi'],
  ['馨', 'xin'], ['春', 'chun'], ['云', 'yun'], ['蓉', 'rong'], ['月', 'yue'], ['露', 'lu'], ['颖', 'ying'],
];

/**
 * Characters outside GBK (4 bytes in GB18030, so a `gbk` decoder fails on them), as found in
 * real names.
 */
export const RARE_GIVEN: readonly Syllable[] = [['𠮷', 'ji'], ['𠅤', 'hu'], ['䶮', 'yan'], ['㛃', 'jie'], ['𬌗', 'he']];

/** Uyghur names, written with the middle dot U+00B7. [hanzi, pinyin for login names, gender] */
export const UYGHUR_NAMES: ReadonlyArray<readonly [string, string, 'M' | 'F']> = [
  ['阿不都·热合曼', 'abudu', 'M'], ['热依拉·买买提', 'reyila', 'F'], ['买买提·艾力', 'maimaiti', 'M'],
  ['古丽·阿不都', 'guli', 'F'], ['艾尔肯·吐尔逊', 'aierken', 'M'], ['迪丽努尔·阿布拉', 'dilinuer', 'F'],
  ['努尔兰·阿合买提', 'nuerlan', 'M'], ['阿依古丽·吐逊', 'ayiguli', 'F'],
];

export const NICKNAMES: readonly string[] = [
  '阳光', '晴天', '蓝天白云', '浅笑安然', '笑看人生', '喵星人', '小猫咪🐱', '🍀幸运草', '☀️阳光', '🌸花花🌸',
  '随风', '岁月静好', '一路向北', '淡然', '平安是福', '开心就好', 'Sunny', 'Tom', 'Amy', 'Jack', 'Lucky',
  '😊微笑', '夜猫子', '老顽童', '追梦人', '知足常乐', '向日葵🌻', '大白', '木子', '听雨',
];

/** [province, city, district, area code] */
export const PLACES: ReadonlyArray<readonly [string, string, string, string]> = [
  ['四川', '绵阳市', '涪城区', '0816'], ['四川', '绵阳市', '游仙区', '0816'], ['四川', '成都市', '武侯区', '028'],
  ['四川', '成都市', '高新区', '028'], ['四川', '德阳市', '旌阳区', '0838'], ['北京', '北京市', '朝阳区', '010'],
  ['上海', '上海市', '浦东新区', '021'], ['广东', '广州市', '天河区', '020'], ['广东', '深圳市', '南山区', '0755'],
  ['浙江', '杭州市', '西湖区', '0571'], ['浙江', '宁波市', '鄞州区', '0574'], ['江苏', '南京市', '鼓楼区', '025'],
  ['湖北', '武汉市', '洪山区', '027'], ['湖南', '长沙市', '岳麓区', '0731'], ['重庆', '重庆市', '渝中区', '023'],
  ['安徽', '合肥市', '蜀山区', '0551'], ['安徽', '蚌埠市', '蚌山区', '0552'], ['山东', '济南市', '历下区', '0531'],
  ['河南', '郑州市', '金水区', '0371'], ['陕西', '西安市', '雁塔区', '029'], ['新疆维吾尔自治区', '乌鲁木齐市', '天山区', '0991'],
  ['辽宁', '沈阳市', '和平区', '024'], ['云南', '昆明市', '五华区', '0871'], ['贵州', '贵阳市', '南明区', '0851'],
];

export const ROADS: readonly string[] = [
  '人民路', '建设路', '解放路', '中山路', '科创路', '长虹大道', '光明路', '天府大道', '临园路', '跃进路',
  '滨江路', '学府路', '工农路', '新华路', '和平路', '东风路',
];

export const COMPOUNDS: readonly string[] = [
  '幸福里', '锦绣花园', '阳光小区', '碧桂园', '金色港湾', '翠苑', '长虹小区', '美菱家园', '东方花园', '世纪城',
];

export type DeviceType = 'tv' | 'fridge' | 'aircon' | 'washer' | 'other';

/** [type, model, serial prefix] */
export const PRODUCTS: ReadonlyArray<readonly [DeviceType, string, string]> = [
  ['tv', '长虹 32M1', '32M'], ['tv', 'CHiQ 55Q5T', '55Q'], ['tv', '长虹 55D4P', '55D'], ['tv', 'CHiQ 65Q8T', '65Q'],
  ['tv', '长虹 43D3S', '43D'], ['tv', 'CHiQ 65D6P', '65D'], ['tv', '长虹 LED42C2000', 'LED'], ['tv', '长虹 3D50A3700iD', 'TV'],
  ['tv', 'Changhong 50A4U', '50A'], ['tv', '长虹 65Q5N', '65Q'], ['tv', 'CHiQ 55Q6E', '55Q'], ['tv', '长虹 75D8K', '75D'],
  ['fridge', '美菱 BCD-520WPB', 'BCD'], ['fridge', 'CHiQ BCD-508WQ3', 'BCD'], ['fridge', '美菱 BCD-360WPCX', 'BCD'],
  ['aircon', 'CHiQ KFR-35GW/Q1', 'KFR'], ['aircon', '美菱 KFR-26GW/BP3', 'KFR'], ['aircon', '长虹 KFR-72LW/DAW1', 'KFR'],
  ['washer', '美菱 XQG100-1406', 'XQG'], ['washer', '长虹 XQB80-1', 'XQB'],
  ['other', '长虹 KJ300F 空气净化器', '空气净'], ['other', '美菱 MJ-2 净水器', '净水器'], ['other', '长虹 CR-9 扫地机器人', '扫地机'],
];

export const EMAIL_DOMAINS: ReadonlyArray<readonly [string, number]> = [
  ['163.com', 30], ['126.com', 12], ['qq.com', 10], ['139.com', 6], ['sina.com', 6], ['yeah.net', 3],
  ['sohu.com', 3], ['icloud.com', 4], ['gmail.com', 3], ['hotmail.com', 3], ['aliyun.com', 2], ['foxmail.com', 3],
];

/** First octets of Chinese ISP address blocks, for bbs registration IPs. */
export const IP_FIRST_OCTETS: readonly number[] = [
  36, 39, 42, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123,
  124, 125, 171, 175, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221, 222,
];
