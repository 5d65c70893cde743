"""Hand-curated seed lists of the hashtag safety lexicon (read by `export/safety_lexicon.py`).

Terms are written as the models store tags: lowercase words separated by spaces, or Chinese words.
A group's terms make a tag sensitive; its triggers (plus its terms) in the post show that the post
is about that topic. Terms are separated by "|"; a Chinese trigger with spaces ("客机 失联") needs all its parts.

Decisions worth knowing:
- an everyday word that is also a disaster word (fire, storm, crash, blast, sandy, rip) is kept when
  the post itself uses it ("#fire" on "fire pit night" is kept), and dropped on other posts;
- a factual tag (shooting, flood, earthquake, 地震) is kept on a post about that event; an
  escalating one (massacre, death toll, rot in hell, kill them all, 屠杀) never;
- political slogans and campaign tags of every side (maga, build the wall, im with her, vote blue,
  black lives matter, all lives matter, 阻止 … 来 大陆) are never suggested; neutral topic tags
  (politics, election, senate, immigration, refugees, trump, brexit) are not filtered;
- "boston marathon" is a race, not a tragedy: kept; "boston bombing", "pray for boston" are not.
"""

import json
import re
from pathlib import Path

CLOSENESS_THRESHOLD = 0.6  # encoder cosine similarity between post and tag above which they are close

POLICIES = {
    "disaster": "contextual", "crime": "contextual", "death": "contextual", "terror": "contextual",
    "health": "contextual", "sexual": "contextual", "politics_slogan": "never", "slur_insult": "never",
    "escalation": "never",
}

# category -> (group name, English terms, Chinese terms, English triggers, Chinese triggers)
GROUPS = {
    "disaster": [
        ("stampede", "stampede|crowd crush", "踩踏", "crowd|crush", "拥挤"),
        ("earthquake", "earthquake|quake|tremor|aftershock|seismic|terremoto|sismo|seism|temblor",
         "地震|余震|强震|震区|抗震|震灾", "magnitude|richter|epicenter", "震级|震感|震中"),
        ("tsunami", "tsunami", "海啸", "", ""),
        ("flood", "flood|flash flood|floodwater|inundation|alluvione|inondation|flood ph",
         "洪水|洪灾|水灾|内涝|抗洪|洪涝", "flooded|inundated|submerged|deluge", "淹|暴雨"),
        # a storm is not a hurricane: each kind needs its own word (or a closeness on a post about storms)
        ("hurricane", "hurricane|superstorm", "飓风", "landfall", ""),
        ("typhoon", "typhoon|cyclone", "台风", "landfall", ""),
        ("tornado", "tornado", "龙卷风", "twister", ""),
        ("storm", "tropical storm|storm", "风暴", "stormy|evacuation|evacuate", "暴雨|大风"),
        # any crisis tag names its crisis: #WaterCrisis needs "water" (the tag's other words) on a post about one
        ("crisis", "refugee crisis|humanitarian crisis|famine|crisis",
         "难民危机|饥荒|危机", "refugees|starving|shortage", "短缺"),
        # a breaking-incident tag (#北京突发) only on a post about an incident
        ("breaking", "", "突发|突发事件|突发新闻", "accident|casualties|injured", "事故|伤亡|遇难|爆炸|起火|坍塌|救援|受伤"),
        ("fire", "fire|blaze|inferno|arson", "火灾|大火|起火|失火|火警",
         "flames|burning|burned|smoke|firefighter", "火"),
        ("wildfire", "wildfire|bushfire|forest fire|brush fire|bush fire", "山火|森林火灾",
         "evacuation", ""),
        ("crash", "plane crash|air crash|train crash|car crash|helicopter crash|crash|derailment|"
         "derailed|collision|shipwreck|capsized|sinking|air disaster",
         "空难|坠机|坠毁|失事|车祸|撞车|追尾|翻车|脱轨|沉没|沉船|击落|船难|坠海",
         "crashed|wreck|wreckage|derail", "坠|撞|事故"),
        ("missing", "missing plane|missing flight|missing jet", "失联|失踪|搜寻|搜救",
         "missing|search", "寻找"),
        ("explosion", "explosion|blast|explosions", "爆炸|爆燃", "exploded|explode", "炸"),
        ("collapse", "building collapse|collapse|collapsed", "坍塌|倒塌|垮塌", "", ""),
        ("haze", "haze|smog", "雾霾", "psi|air quality|pollution", "污染|空气"),
        ("meteor", "meteor strike|meteor explosion|meteorite strike|meteorite impact", "陨石坠落|陨石撞击",
         "meteor|fireball", "流星"),
        ("landslide", "landslide|mudslide|avalanche|eruption|volcanic eruption",
         "泥石流|山体滑坡|滑坡|雪崩|火山爆发|火山喷发", "volcano|lava", "火山"),
        ("epidemic", "ebola|pandemic|epidemic|outbreak|covid|covid19|covid 19|coronavirus|sars virus",
         "疫情|非典|埃博拉", "virus|infection|infected|quarantine", "病毒|感染"),
        ("disaster", "disaster|tragedy|catastrophe|state of emergency|devastation|aftermath|"
         "disaster relief|evacuation|relief ph|rescue ph", "灾难|灾区|灾情|救灾|赈灾|悲剧|惨剧|受灾",
         "victims|devastated|destroyed|damage|emergency|relief|rescue|killed|died|dead",
         "遇难|伤亡|事故|救援"),
    ],
    "crime": [
        ("shooting", "shooting|shooter|gunman|gunmen|gunfire|mass shooting|shot dead|gunshot",
         "枪击|枪杀|开枪|枪案", "gun|guns|shots|shot|opened fire", "枪"),
        ("stabbing", "stabbing|stabbed|knife attack|knifeman|machete attack",
         "砍人|砍伤|砍杀|砍死|被砍|持刀|行凶|捅人|刺伤", "knife|stab|attack|attacker", "刀|砍|袭击|凶手"),
        ("murder", "murder|murderer|homicide|killing|kill|killer|serial killer|assassination|"
         "assassinated|slain|manslaughter|genocide", "谋杀|凶杀|杀人|杀害|命案|遇害|杀",
         "killed|dead|death|victim|police", "凶手|死|警方"),
        ("kidnapping", "kidnap|kidnapped|kidnapping|abducted|abduction|hostage|hostages",
         "绑架|劫持|人质|拐卖", "", ""),
        ("sexual violence", "rape|raped|rapist|raping|sexual assault|sexual abuse|molest|molested|"
         "molestation|child abuse|pedophile", "强奸|性侵|猥亵|性骚扰", "abuse|assault|victim", ""),
        ("drugs", "drug bust|overdose|drug dealer|drug trafficking", "吸毒|贩毒|毒品|涉毒",
         "drugs|arrested", "毒"),
        ("recreational drugs", "marijuana|cannabis|stoner|stoners|stoned|420|kush|thc|cocaine|heroin|meth|mdma|ecstasy|lsd|"
         "shrooms|magic mushrooms|smoke weed", "大麻|冰毒|摇头丸|海洛因|可卡因", "weed|smoke weed|smoking weed|smoked weed|get high|got high|"
         "getting high|drugs|dispensary|edibles|a joint|blunt|bong|legalize|legalise|legalization|legalisation",
         "毒"),  # (no "smoke", "smoking" or "high" alone: a smoke alarm, a smoker's brisket, high tide)
        ("police", "fbi|manhunt|suspect|suspects|most wanted",
         "被抓|被捕|逮捕|通缉|落网|嫌犯|嫌疑人|被拘",
         "police|arrest|arrested|investigation|charged|detective|stolen|robbed|burglary|theft", "警方|警察|抓|拘留"),
        ("crime", "crime|crimes|criminal|criminals", "犯罪|罪犯", "police|arrest|arrested|stolen|robbed|theft|court",
         "警方|警察|被抓|法院"),
        ("violence", "robbery|armed robbery|violence|domestic violence|riot|riots|looting|lynching",
         "抢劫|打人|打我|被打|打耳光|暴力|家暴|暴乱|斗殴|群殴|暴打|殴打|毒打|打死|伤人", "assault|attack|police", "警方|打"),
    ],
    "death": [
        ("death", "death|dead|died|dies|rip|rest in peace|passed away|obituary|funeral|condolences|"
         "in memoriam|mourning|fatalities|casualties|victims|corpse|bodies found",
         "死亡|遇难|去世|逝世|身亡|丧生|猝死|饿死|撞死|逼死|悼念|哀悼|默哀|一路走好|节哀|罹难|尸体|女尸|男尸|浮尸|碎尸|缅怀",
         "killed|death toll|tribute|memorial|mourn", "死|伤亡"),
        ("suicide", "suicide|suicidal|kill myself", "自杀|轻生|跳楼", "", ""),
        # remembrance of the dead (#NeverForget is 9/11's, #NeverAgain the Holocaust's and a campaign's): under a post
        # about a death, an attack or a war only
        ("remembrance", "never forget|we will never forget|lest we forget|never again|the uncounted|the counted",
         "", "anniversary|memorial|victims|tribute|killed|died|war|attack|attacks|veterans|fallen|9 11|911", ""),
        ("prayers", "pray for|pray from|prayers for|praying for|thoughts and prayers|pray 4",
         "祈福|祈祷", "pray|prayer|prayers|victims|tragedy|disaster|killed|dead|died|missing|"
         "earthquake|flood|typhoon|hurricane|bombing|attack|crash|shooting|terror|innocent",
         "遇难|失联|地震|爆炸|袭击|坠毁|死亡|灾|恐怖|暴恐|无辜|遇害|伤亡|惨案|悲剧|砍|杀|枪击"),
    ],
    "terror": [
        ("terrorism", "terror|terrorism|terrorist|terror attack|isis|isil|jihad|jihadist|"
         "al qaeda|extremist|terrorists|suicide bomber|ground zero|9 11|twin towers", "恐怖|恐怖袭击|恐怖分子|暴恐|袭击",
         "attack|attacked|siege|september 11|world trade center", "袭击|暴恐"),
        ("bombing", "bomb|bomber|bombing|explosive|ied|car bomb|pipe bomb|bombers",
         "炸弹|爆炸案|自杀式", "explosion|blast|exploded|detonated", "爆炸"),
        ("war", "war|warfare|airstrike|air strike|invasion|massacre site|war crimes",
         "战争|抗战|侵华|七七事变|铭记七七|南京大屠杀|不能忘却|勿忘国耻|国耻|九一八事变|卢沟桥|抗日",
         "soldiers|army|troops|battle", "军|战|日军|侵略"),
    ],
    # a condition named under a post that does not name it mocks (#Bipolar under a jumper with one long sleeve: a judged
    # list); under a post that names it (the writer's own diagnosis) it is a plain tag
    "health": [
        ("conditions", "bipolar|ocd|adhd|autism|autistic|ptsd|schizophrenia|schizophrenic|psychotic|anorexia|anorexic|"
         "bulimia|bulimic|tourettes|tourette s|"
         # (#Dementia under a tennis loss to a man in his seventies: export/judged/en_fresh136/)
         "dementia|alzheimers|alzheimer s|parkinsons|parkinson s|epilepsy|down syndrome",
         "躁郁症|双相|强迫症|自闭症|精神分裂|厌食症|老年痴呆|阿尔茨海默",
         "", ""),
    ],
    "sexual": [
        ("sexual", "sex|sexy|porn|porno|pornography|nsfw|nude|nudes|naked|xxx|erotic|onlyfans|"
         "escort|hooker|prostitute|prostitution|brothel|strip club|stripper|playboy|sex tape|buns out",
         "色情|裸照|裸体|裸身|裸露|开房|约炮|情色|三级片|嫖娼|卖淫|性交|性爱|黄片|艳照|床照|扫黄|海天盛筵",
         "sexual", "性|裸"),
    ],
    "politics_slogan": [
        ("slogans", "maga|make america great again|kag|keep america great|trump 2020|trump train|"
         "build that wall|build the wall|build a wall|finish the wall|no daca|stop the invasion|"
         "walk away|lock her up|im with her|i m with her|vote blue|blue wave|red wave|"
         "stop the steal|refugees not welcome|drain the swamp|feel the bern|never trump|"
         "not my president|abolish ice|deport them all|send her back|america first|close the border|"
         "muslim ban|ban muslims|white genocide|abortion is murder|black lives matter|all lives matter|blue lives matter|vote leave|"
         "vote remain|take back control|the resistance|no amnesty|wwg1wga|wwg 1 wga|qanon|q anon|times up|"
         "red nation rising|send them back|end chain migration|vote red|wake up america|"
         "confirm kavanaugh|stop kavanaugh|not voting for|voting for|vote for|vote trump|vote hillary|"
         "crooked hillary|hillary for prison|never hillary|trump 2016|hillary 2016|bernie 2016|"
         "deep state|drain the deep state|agenda 2030|2030 agenda|new world order|plandemic|tcot|teaparty|tea party patriots|"
         "i cant breathe|i can t breathe|gamergate|gamer gate|lets go brandon|let s go brandon|fjb|"
         "march for our lives|defund the police|back the blue|no justice no peace|stop asian hate|no illegals|"
         "illegal aliens|deport illegals|illegals out|wear a mask|mask up|masks save lives|stay home save lives|flatten the curve|"
         "na mo|namo|namo again|abki baar modi sarkar|phir ek baar modi sarkar|main bhi chowkidar|chowkidar chor hai|"
         # Standing Rock's (#WaterIsLife under a flooded house: a judged set) and a stance word (#Woke under "woke up tired")
         "water is life|mni wiconi|no dapl|nodapl|stand with standing rock|woke|stay woke|go woke go broke|anti woke|"
         # the anti-Trump campaign's word alone (#Resistance under a passed MOT: fresh117); resistance bands stay (SAFE)
         "resistance",
         "台独|港独|打倒|滚出大陆|农业学大寨|工业学大庆|造反有理|破四旧|赶英超美", "", ""),
    ],
    "slur_insult": [
        ("insults", "women suck|men suck|libtard|feminazi|trumptard|kill yourself|kys|go die|"
         "loser|idiot|idiots|stupid people|ugly people|redskin|redskins|blackface|brownface|yellowface|redface|black face|brown face|"
         # a bare word that reads as crude slang even where the post means the bird (a racing pigeon's cock: fresh103)
         "cock",
         "滚出|滚粗|滚回|去死|脑残|傻逼|傻b|贱人|婊子|人渣|白痴|智障|最丑|丑八怪|棒子|日本鬼子|黑鬼|"
         "装逼|抄家伙|绿茶婊|贱货|狗娘|他妈的|你妈的|操你|草泥马|来个逼|小三|第一胖|"
         # disability words, in everyday posts mostly in jest (练腿的第二天都是残疾人: #残疾人 judged mocking)
         "残废|残疾人|"
         # food called swill, a joke that mocks the dish as a tag (豆汁儿: "这是泔水吧", zh_fresh174)
         "泔水", "", ""),
    ],
    "escalation": [
        ("escalation", "massacre|death toll|deathtoll|rot in hell|burn in hell|kill them all|"
         "kill them|kill all|death to|hang them|execute them|nuke them|wipe them out|bloodbath|slaughter",
         "屠杀|血洗|杀光|灭族|千刀万剐|枪毙|死有余辜|该死", "", ""),
    ],
}

# (name, category, English terms, Chinese terms, English triggers, Chinese triggers, data events)
EVENTS = [
    ("hurricane sandy", "disaster", "sandy|frankenstorm|huricane sandy|huracan sandy", "桑迪",
     "hurricane|superstorm|flooding|flooded|power outage|evacuation|nor easter", "飓风", ["mediaeval:sandy"]),
    ("boston marathon bombing", "terror", "boston bombing|boston marathon bombing|marathon bombing|"
     "pray for boston|boston strong|boston manhunt|boston bomber|tsarnaev|boston marathon explosion",
     "波士顿爆炸", "bombing|bomb|bomber|explosion|blast|tsarnaev|manhunt|attack|victims", "爆炸",
     ["crisislex:2013_Boston_bombings", "mediaeval:boston"]),
    ("nepal earthquake", "disaster", "nepal earthquake|nepal quake|gorkha earthquake|pray for nepal",
     "尼泊尔地震", "nepal|kathmandu|gorkha", "尼泊尔", ["mediaeval:nepal"]),
    ("philippine typhoons and floods", "disaster", "pablo ph|typhoon pablo|bopha|yolanda ph|"
     "typhoon yolanda|haiyan|maring ph|maring|habagat|pray for visayas|pray for the philippines|"
     "pray for ph|ph alert|ph alerts|ph earthquake|bohol earthquake|rescue ph|relief ph|flood ph",
     "菲律宾台风", "philippines|philippine|manila|visayas|mindanao|bohol|tacloban|leyte|cebu|"
     "pablo|yolanda|haiyan|maring|habagat|bopha|pilipinas", "菲律宾",
     ["crisislex:2012_Philipinnes_floods", "crisislex:2012_Typhoon_Pablo",
      "crisislex:2013_Manila_floods", "crisislex:2013_Typhoon_Yolanda",
      "crisislex:2013_Bohol_earthquake"]),
    ("venezuela refinery explosion", "disaster", "amuay|amuay refinery", "",
     "refinery|explosion|venezuela|paraguana", "", ["crisislex:2012_Venezuela_refinery"]),
    ("lac megantic derailment", "disaster", "lac megantic|lake megantic|megantic|lac mé gantic", "",
     "derailment|train|explosion|quebec", "", ["crisislex:2013_Lac_Megantic_train_crash"]),
    ("glasgow helicopter crash", "disaster", "clutha|clutha vaults|glasgow helicopter crash", "",
     "helicopter|crash|glasgow", "", ["crisislex:2013_Glasgow_helicopter_crash"]),
    ("brazil nightclub fire", "disaster", "boate kiss|santa maria|kiss nightclub|"
     "santa maria fire|forca santa maria", "", "nightclub|boate|incendio|fire|tragedia|tragedy",
     "", ["crisislex:2013_Brazil_nightclub_fire"]),
    ("russian meteor", "disaster", "russian meteor|russia meteor|chelyabinsk|метеорит|челябинск",
     "俄罗斯陨石", "chelyabinsk|russia|russian|urals", "俄罗斯", ["crisislex:2013_Russia_meteor"]),
    ("savar building collapse", "disaster", "savar|rana plaza|savar collapse", "",
     "collapse|garment|factory|bangladesh|dhaka", "", ["crisislex:2013_Savar_building_collapse"]),
    ("singapore haze", "disaster", "sg haze|singapore haze", "", "singapore|psi", "",
     ["crisislex:2013_Singapore_haze"]),
    ("colorado floods", "disaster", "co flood|coflood|boulder flood|colorado flood|colorado floods",
     "", "colorado|boulder|longmont|lyons", "", ["crisislex:2013_Colorado_floods"]),
    ("colorado wildfires", "disaster", "waldo canyon fire|high park fire|colorado wildfire|"
     "colorado fire", "", "colorado|waldo|high park", "", ["crisislex:2012_Colorado_wildfires"]),
    ("nsw bushfires", "disaster", "nsw fires|nsw fire|nsw bushfire|nsw rfs|nswrfs", "",
     "nsw|new south wales|rfs|blue mountains|australia", "澳大利亚",
     ["crisislex:2013_Australia_bushfire"]),
    ("sardinia floods", "disaster", "allerta meteo sar|alluvione sardegna|sardegna alluvione|"
     "ciclone cleopatra|sardinia floods|sardinia flood|forza sardegna", "", "sardegna|sardinia|olbia|cleopatra",
     "撒丁", ["crisislex:2013_Sardinia_floods"]),
    ("charlie hebdo attack", "terror", "charlie hebdo|je suis charlie|jesuischarlie|kouachi", "查理周刊",
     "hebdo|kouachi|je suis charlie", "查理", ["rumoureval:charliehebdo"]),
    ("sydney siege", "terror", "sydney siege|martin place siege|illridewithyou|i ll ride with you",
     "悉尼人质", "siege|hostage|lindt|martin place|monis", "人质", ["rumoureval:sydneysiege"]),
    ("ottawa shooting", "terror", "ottawa shooting|ottawa attack|parliament hill shooting|"
     "ottawa strong", "渥太华枪击", "ottawa|parliament hill|cirillo", "渥太华",
     ["rumoureval:ottawashooting"]),
    ("ferguson", "crime", "ferguson|mike brown|michael brown|hands up dont shoot|darren wilson",
     "弗格森", "ferguson|brown|darren wilson", "弗格森", ["rumoureval:ferguson"]),
    ("germanwings crash", "disaster", "germanwings|4u9525|lubitz", "德国之翼",
     "germanwings|lubitz|4u9525|alps|crash", "德国之翼", ["rumoureval:germanwings-crash"]),
    ("malaysia airlines mh370 and mh17", "disaster", "mh370|mh17|mhdigit|malaysia airlines|"
     "malaysian airlines|pray for mh370|malaysia plane", "马航|马来西亚航空|马来西亚客机|"
     "马来西亚航班|马航班", "malaysia|malaysian|mh370|mh17|mhdigit",
     "马航|马来西亚|mh|客机 失联|航班 失联|飞机 失联|客机 失事|客机 坠毁|客机 击落",
     ["mediaeval:malaysia"]),
    ("garissa attack", "terror", "garissa|147 not just a number|garissa attack", "加里萨",
     "garissa|al shabaab|kenya", "肯尼亚", ["mediaeval:garissa"]),
    ("columbian chemicals hoax", "disaster", "columbian chemicals|columbianchemicals|"
     "columbian chemical", "", "columbian|centerville|louisiana|explosion", "",
     ["mediaeval:columbianChemicals"]),
    ("bring back our girls", "crime", "bring back our girls|bringbackourgirls|chibok", "",
     "chibok|boko haram|kidnapped|abducted|schoolgirls|nigeria", "尼日利亚",
     ["mediaeval:bringback"]),
    ("syrian hero boy", "terror", "syrian hero boy|syrianheroboy|syrian boy", "叙利亚男孩",
     "syria|syrian|sniper", "叙利亚", ["mediaeval:syrianboy"]),
    ("sewol ferry", "disaster", "sewol|sewol ferry", "韩国客轮|岁月号|世越号",
     "sewol|ferry|korea", "客轮|韩国|岁月号|世越号", []),
    ("dongguan vice crackdown", "sexual", "dongguan", "东莞挺住|东莞扫黄|东莞丐帮|东莞色情",
     "", "东莞|扫黄", []),
]

# data events that are not harmful topics (a hoax photo, a sports event, a celebrity rumour)
IGNORED_DATA_EVENTS = [
    "mediaeval:eclipse", "mediaeval:sochi", "mediaeval:samurai", "mediaeval:underwater",
    "mediaeval:varoufakis", "mediaeval:passport", "mediaeval:pigFish", "mediaeval:elephant",
    "mediaeval:livr", "mediaeval:image", "rumoureval:putinmissing", "rumoureval:prince-toronto",
    "rumoureval:illary", "rumoureval:ebola-essien",
]

# how a data event's name types it (default_event); the rest of the name is its place
EVENT_KINDS = {
    "earthquake": "disaster", "earthquakes": "disaster", "floods": "disaster", "fire": "disaster",
    "wildfires": "disaster", "bushfire": "disaster", "crash": "disaster", "train": "disaster",
    "collapse": "disaster", "haze": "disaster", "meteor": "disaster", "typhoon": "disaster",
    "refinery": "disaster", "shootings": "crime", "shooting": "crime", "bombings": "terror",
    "airport": "crime", "nightclub": "disaster", "building": "disaster", "helicopter": "disaster",
}

# an audit of every tag the service and `predict` gave the sets of export/judged/ and dev, read by six helpers
# (export/judged/audit-compared/AUDIT.md): the slogans and campaign tags (even on a political post), insults, slurs and
# porn that a post's own words had let through; one line a tag, {"tag", "why", "note"}
AUDIT_FLAGS = Path(__file__).resolve().parent / "judged" / "audit-compared" / "flags.jsonl"
AUDIT_LEFT_OUT = {"murakh"}  # Hindi "fool": unsure
_AUDIT_CATEGORY = {"slogan": "politics_slogan", "insult": "slur_insult", "slur": "slur_insult", "sexual": "sexual"}


def audited(lang: str) -> dict[str, str]:
    """The audit's flagged tags of a language (Chinese: any Han character) -> their category."""
    rows = [json.loads(line) for line in AUDIT_FLAGS.read_text(encoding="utf-8").splitlines() if line.strip()]
    tags = {r["tag"].lstrip("#").lower(): _AUDIT_CATEGORY[r["why"]] for r in rows}
    return {t: c for t, c in tags.items() if t not in AUDIT_LEFT_OUT and bool(re.search(r"[\u4e00-\u9fff]", t)) == (lang == "zh")}


# explicit tags never suggested, beyond those the terms above catch
NEVER_TAGS = {
    "en": {"women suck": "slur_insult", "maga 2kag": "politics_slogan",
           "trump maga": "politics_slogan", "kag 2020": "politics_slogan",
           # memes and names people call others to mock them: a post that writes one still takes none as a tag
           **dict.fromkeys(("karen", "karens", "ok boomer", "incel", "incels", "simp", "simps", "cuck", "cucks",
                            "soyboy", "soy boy", "neckbeard", "thot", "thots", "remoaner", "remoaners",
                            "redneck", "rednecks", "hillbilly", "hillbillies", "ghetto", "white trash",
                            "trailer trash", "beta male", "chav", "chavs", "pikey", "pikeys", "gyppo", "bogan",
                            "bogans", "illegals", "illegal alien", "illegal aliens", "deplorables", "killary", "sjw",
                            "snowflakes"), "slur_insult"),
           **audited("en")},
    "zh": {"阻止 杜汶泽 来 大陆": "politics_slogan", "抄 家伙 灭诺澜": "slur_insult",
           "亚洲 最丑 明星": "slur_insult", "闷声 作大死": "slur_insult",
           **dict.fromkeys(("普信男", "普信女", "巨婴", "死肥宅", "屌丝", "直男癌", "田园女权", "妈宝男", "凤凰男", "杠精",
                            "喷子", "白莲花", "渣男", "渣女", "键盘侠"), "slur_insult"),
           **audited("zh")},
}

# tags that are harmless whatever the post says; Chinese entries are also words whose characters
# must not count as a term (秒杀 is a flash sale, not a killing)
SAFE = {
    "en": ["boston marathon", "star wars", "starwars", "fire pit", "firepit", "killing it", "killin it", "killed it",
           "kill it", "killer workout", "dressed to kill", "bomber jacket", "bath bomb",
           "photo bomb", "photobomb", "photo shooting", "photoshooting", "shooting star",
           "shooting stars", "film shooting", "suicide squad", "the walking dead", "walking dead",
           "grateful dead", "dead sea", "day of the dead", "rip curl", "crash course",
           "crash bandicoot", "blast from the past", "killer queen", "storm trooper",
           "maine coon", "ice bucket challenge", "stormtroopers", "killer whale", "therapist",
           "therapists", "physiotherapist", "psychotherapist", "shoot", "photoshoot", "photo shoot",
           "gaming", "cold",  # WordNet's first senses are gambling and the illness: #Gaming, #Cold are everyday tags
           "food porn", "foodporn", "car porn", "sky porn", "cloud porn", "earth porn", "book porn",
           "travel porn", "architecture porn", "resistance band", "resistance bands", "resistance training", "true crime",
           "crime fiction", "crime novel", "crime drama", "partners in crime", "midlife crisis",
           "identity crisis", "heatwave", "heat wave",  # a hot week everyone tags (its training posts: climate stances)
           # names of the product's topics (inference/data/topics_en.txt) a term inside would block on their own posts
           "clay shooting", "clay pigeon shooting", "tug of war", "storm chasing", "storm chaser", "throat singing",
           "pea shooting"],
    "zh": ["秒杀", "杀青", "杀毒", "抹杀", "扼杀", "杀价", "三国杀", "狼人杀", "杀马特", "杀手锏", "剧本杀",
           "摇滚", "爆炸头", "冰桶挑战", "台风天", "杀戮尖塔"],
}

# words of a tag that do not name an event (they may be missing from a post about it)
STOPWORDS = {
    "en": ["for", "the", "and", "with", "from", "our", "you", "this", "that", "day", "new", "news",
           "live", "update", "updates", "help", "relief", "rescue", "victim", "support", "pray",
           "prayer", "strong", "digit", "today", "now", "stop", "breaking", "alert", "all"],
    "zh": ["的", "了", "被", "在", "是", "事件", "人", "和", "与", "为", "给", "我们", "大家", "一起",
           "关注", "最新", "消息", "直播", "突发", "快讯", "digit", "哀悼", "现场"],
}

# better-profanity words left out: everyday, medical, identity, food, place and name words
PROFANITY_EXCLUDE = set("""
arian aryan asanchez len areole cow girl cow girls cowgirl cowgirls damn dink dinks dong dopey
drunk dummy enlargement erect extacy extasy facial fanny fart fat flange foobar fubar gae gai gay
gays gey ghay ghey ganja god gonad gonads guido hebe hell he11 hemp heroin herp herpes herpy hiv
hitler hoar hoare homey homo hooch hootch hookah hooter hooters hump humped humping hymen jerk
junkie junky kill kinkyjesus knob leper lesbians lesbos lmao lmfao loin loins lube lust lusting
lusty mams masochist massa maxi menses menstruate menstruation meth molest murder muff mutha muther
nad nads napalm nappy niggle nimrod nob omg opiate opium oral orally organ ovary ovum ovums paddy
pastie pasty pawn pcp pee peepee penetrate penetration pecker peyote pimp pms pollock poop pot
potty pron prude punky puss queer queers quicky racy rape raped raper raping rapist rectal rectum
rectus reefer reich revue rum rump sadism sadist sandbar scantily screw screwed screwing seaman
seamen seduce shag slave slope snatch sniper snuff sodom souse soused sperm spunk steamy stoned
strip stroke tampon teat teez teste testee testes testical testicle testis thrust tinkle titi
toke toots tramp transsexual tush ugly undies unwed urinal urine uterus uzi viagra virgin vixen
vodka vomit vulgar vulva wad wang weed weenie weewee weiner whiz willies willy womb woody wtf xx
yaoi yury coon doggin fingering fisted fisty foreskin crotch labia scrotum nutbutter anus glans
howtokill howtomurdep dogging wedgie hoe hore frigg fack feck
thug suck sucked sucking
""".split())

# a profanity word containing one of these is sexual (contextual), unless it is also an insult
SEXUAL_ROOTS = (
    "porn", "p0rn", "sex", "cum", "kum", "cock", "dick", "pussy", "pussi", "penis", "penial",
    "penile", "vag", "orgasm", "orgasim", "orgies", "orgy", "blow", "handjob", "hand job",
    "footjob", "foot job", "dildo", "boob", "tit", "t1t", "anal", "milf", "nude", "erotic", "bdsm",
    "bondage", "masturbat", "masterb", "ma5terb", "m45terb", "ejacul", "ejakul", "clit", "cunil",
    "cunnil", "kunil", "fellat", "gang", "horn", "hentai", "threesome", "three some", "nipple",
    "semen", "jizz", "jism", "jiz", "bukkake", "bukake", "hooker", "prostitut", "stripclub",
    "strip club", "naked", "breast", "busty", "booty", "boner", "schlong", "shibar", "kinbaku",
    "rimjob", "rimming", "g-spot", "gspot", "golden shower", "goldenshower", "brown shower",
    "voyeur", "nympho", "smut", "playboy", "raunch", "spooge", "stiffy", "pube", "pubic", "pubis",
    "gokkun", "futanar", "shota", "incest", "beastial", "bestial", "deep throat", "deepthroat",
    "throating", "doggie", "doggy", "dog style", "kondum", "kooch", "kootch", "poon", "nooky",
    "panties", "pantie", "panty", "quicky", "auto erotic", "autoerotic", "femdom", "gigolo",
    "girls 1 cup", "2g1c", "perversion", "blue waffle", "booty call", "teabagging", "muffdiv",
    "wank", "fondle", "felch", "feltch", "fisting", "xxx", "x-rated",
)
INSULT_ROOTS = ("fuck", "fuk", "phuk", "phuck", "bitch", "whore", "slut", "fag", "nigg", "n1g",
                "cunt", "twat", "bastard", "asshole", "shit", "motherf", "mothaf", "retard", "tard",
                "douche", "dumb", "jackass", "moron", "sumofabiatch", "son-of-a-bitch")

# crime, death and attack tags need the post to say a word of their kind beyond the tag's own: "this price
# is a crime", "my plants are committing slow suicide", "my arms are dead" are figures of speech
CORROBORATE = ["crime", "death", "terror"]

# a place's name and one of these (昆明加油, 四川挺住) is a tag of support after a disaster or attack
SUPPORT_SUFFIXES = {"zh": ["加油", "挺住", "平安", "坚强", "不哭", "祈福", "挺住啊"]}

# the tone rule's seeds: export/safety_tone_seeds.py
from export.safety_tone_seeds import TONE  # noqa: E402,F401  (seeds.TONE)

# the data-driven kinds' seeds: export/safety_kind_seeds.py
from export.safety_kind_seeds import (CRISIS_ORIGINS, POLITICAL_ORIGINS, STANCE_TAGS, TAUNT_TAGS,  # noqa: E402,F401
                                      WORDNET_HARM, ZH_ADDRESS)
