"""The seeds of the data-driven kinds (export/safety_kinds.py), part of the safety lexicon's hand-curated seeds
(export/safety_seeds.py re-exports them): the sources and WordNet synsets that mark a kind, and the stance and taunt tags
named by hand."""

from __future__ import annotations

# data-driven kinds (export/safety_kinds.py): a tag of one of these kinds stands only under a post that
# says its own words
# sources whose posts were collected on political keywords (a party's own account is not one: its tags
# are its places and names, which the support rules already ask the post for)
POLITICAL_ORIGINS = {"tweeteval-stance", "tweeteval-hate", "tweeteval-offensive"}
# political people and hot topics whose training posts come mostly from news accounts (their sources'
# shares do not mark them): stances too, standing only under a post that says their words (#Trump under
# "voted.", #Migrants under a hotel complaint, #Woke under a sleepless night, #Corona under a food market:
# judged harmful on everyday posts, export/judged/)
STANCE_TAGS = ("trump", "donald trump", "obama", "barack obama", "hillary", "hillary clinton", "clinton", "biden",
               "joe biden", "brexit", "refugees", "refugee", "migrants", "migrant", "immigrants", "immigration",
               "abortion", "gun control", "woke", "liberal", "liberals", "conservative", "conservatives", "corona",
               # causes and their campaigns (#PrideForAll under raking leaves, judged a campaign tag: export/judged/)
               "pride for all", "love is love", "gay pride", "lgbt pride", "pride march", "sf pride 2016",
               "equality for all", "marriage equality", "gay rights", "lgbt rights", "womens rights", "mens rights",
               "abortion rights", "repro rights", "repro justice", "social justice", "march for science",
               "science march dc", "womens march", "climate strike", "free speech", "me too",
               # heads of government and party leaders of the countries the users write from (#Modi under a kabaddi raid,
               # judged harmful: export/judged/en_fresh127/)
               "modi", "narendra modi", "rahul gandhi", "putin", "vladimir putin", "xi jinping", "zelensky", "netanyahu",
               "erdogan", "macron", "trudeau", "boris johnson", "sunak", "rishi sunak", "starmer", "keir starmer",
               "farage", "nigel farage", "bolsonaro", "lula", "duterte", "bongbong marcos", "tinubu", "buhari", "ruto",
               "ramaphosa", "zuma", "albanese", "kamala harris", "kamala", "desantis", "jd vance", "imran khan",
               # the names of a prejudice (#Homophobia under a tennis loss to a man in his seventies, judged harmful:
               # export/judged/en_fresh136/): an issue a post takes up in its own words or not at all
               "homophobia", "transphobia", "biphobia", "sexism", "misogyny", "misandry", "islamophobia", "antisemitism",
               "xenophobia", "bigotry", "ableism", "ageism", "classism", "colorism", "racial profiling")
# animals people call a person (#Chimp under a rant about a parking warden "waiting there like a vulture", judged
# mocking: export/judged/topics7-compared/): a taunt, standing only under a post that says its words (a zoo's chimp)
TAUNT_TAGS = ("chimp", "chimps", "chimpanzee", "ape", "apes", "monkey", "monkeys", "pig", "pigs", "rat", "rats",
              "snake", "snakes", "weasel", "donkey", "cow", "cows", "vulture", "vultures", "parasite", "parasites",
              "leech", "sheep", "sheeple", "baboon", "gorilla", "hyena", "cockroach", "cockroaches", "slug", "worm")
CRISIS_ORIGINS = {"crisislex", "mediaeval", "rumoureval"}
# WordNet 3.0 harm synsets, as (first lemma, lexicographer file): 4 act, 7 attribute, 11 event,
# 18 person, 26 state, 28 time
WORDNET_HARM = {
    ("wrongdoing", 4), ("wrongdoer", 18), ("mistreatment", 4), ("immorality", 7), ("ill health", 26),
    ("injury", 26), ("misfortune", 11), ("misfortune", 26), ("death", 11), ("death", 26), ("death", 28),
    ("killing", 4), ("killing", 11), ("violence", 4), ("violence", 26), ("unfortunate", 18),
    ("military action", 4), ("attack", 4), ("disaster", 4),
}
# Chinese words that make a tag a clause speaking to someone (the 2014 mocking and fan memes)
ZH_ADDRESS = {"你", "你们", "您", "老子", "你妹", "尼玛"}
