"""English word lists of the phrase finder (inference/text/phrases.py): function and stop words, fragments,
numbers written as words and the units that go with them, connectors inside names. Data, one place."""

from __future__ import annotations

import functools

from inference.text.segment_data import PACKAGE_DATA

# Function words: trimmed from the ends of capitalised spans, never a phrase, end keyphrase chunks.
FUNCTION_WORDS = frozenset("""
a an the this that these those my your his her its our their me him us them i you he she it we they of in on
at to for from by with about into onto over under after before during since until till til upon within without
through across around between among against toward towards via vs versus per off out up down than as and or but nor so
yet if then else when while where why how what which who whom whose is am are was were be been being do does
did done have has had having will would shall should can cannot could may might must not no yes don't doesn't didn't
isn't aren't wasn't weren't won't can't couldn't shouldn't wouldn't i'm i've i'll i'd you're you've it's
that's there's let's we're they're near behind beside inside outside above below beyond along here there now
today tonight tomorrow yesterday finally just really very too also still already again always never ever even
only once soon later sometimes often maybe perhaps almost quite rather all any some each every both either
neither few more most much many other another such same own one ones lol lmao omg wow yeah yep nope ok okay oh
ah haha hey hi hello please thanks thank pls plz rt cc btw imo tbh idk rn gonna wanna gotta via amp ur u im dont
cant wont didnt doesnt isnt haven't hasn't hadn't ain't havent hasnt hadnt aint because cause cuz tho though
although unless whether afterwards afterward beforehand meanwhile eventually anyway anyways
""".split()) | frozenset("""
na dito ang ng mga po lang naman talaga yung ako siya kami tayo kayo sila ito yun diyan doon dun daw nga kasi pero
kung nang wala meron sige pala muna ulit lahat nasa
hai ki ke se ye yaar bhi toh nahi kya hoon hain mera meri tha thi aur koi kuch bahut
abeg abi wetin dey oya sef una wey sha jare
ko mo niya natin namin nila sa si ni kay raw din rin ba buti sobra grabe
mi yuh seh dat dem nuh cyaan deh fi pon wid ting gwaan unu weh likkle
lah leh lor meh sia liao hor
ni hii hiyo kwa za sasa hapo bana
""".split())  # the function words of Taglish, Hinglish, Pidgin, Patois, Singlish and Sheng posts (#NaDito, #DitoSa, #Seh)
# Never alone, and delimiters of lowercase key phrases, but kept inside capitalised spans
# ("Black Friday", "New York", "Great North Run").
STOP_WORDS = FUNCTION_WORDS | frozenset("""
new good great best better bad worse worst big little small old first last next whole real sure nice cool
awesome amazing happy sad lot lots thing things stuff something anything nothing everything someone anyone
everyone people guy guys day days week weeks year years time times night morning evening afternoon weekend
moment way ways man woman kind sort get gets got getting go goes going gone went make makes made making take
takes took come comes came know knew think thought say says said see saw seen want wants need needs like likes
love loves let feel felt look looks looking try tries tried trying keep kept give gave put watch watching beat
win won lose lost play played monday tuesday wednesday thursday friday saturday sunday january february march
april june july august september october november december mon tue wed thu fri sat sun jan feb mar apr jun jul
aug sep sept oct nov dec am pm ago past yet literally actually basically totally definitely anymore
overnight right everywhere anywhere somewhere nowhere instead ahead away together alone forever twice enough
probably seriously honestly apparently clearly suddenly recently usually especially exactly nearly
myself yourself himself herself itself ourselves yourselves themselves nobody somebody everybody anybody mine
yours hers ours theirs
massive huge enormous awful terrible horrible dreadful lovely gorgeous stunning wonderful fantastic incredible
brilliant excellent decent weird strange odd crazy insane stupid ridiculous questionable dodgy proper entire utter
rubbish crap naff shite gutted dying
""".split())  # the last three lines: how the post finds a thing, not what it is about (#MassivePot, #AwfulCurry;
# "so sorry that's rubbish" under a layoff gave #Rubbish, "proper dying trade" #Dying under a wheelwright)
# Fragments: numbers written as words, ordinals, multiples and forms of function verbs say nothing alone
# (#Third, #Double, #Doing); inside a phrase they stay ("second half", "triple double", "third time").
CARDINALS = frozenset("""
two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand million
billion""".split())  # ... and a phrase they begin is a count ("hundred ducks", "three silent men"), not a tag
FRAGMENT_WORDS = CARDINALS | frozenset("""
second third fourth fifth sixth seventh eighth ninth tenth single double triple quadruple half doing
bloke blokes mate mates lady ladies fella fellas lad lads dude dudes bro bros hubby colleague uncle aunty
""".split())  # the last line: words for the people a post speaks of, none of them a tag alone in the judged lists
# (#Bloke, #Mate, #Lads under a neighbour, a ref, a team; "lads holiday", "uncle mike" stay)
# People named by a colour: a racial label alone (#Blacks, cut from "All Blacks scrum" at a sentence's start, judged
# harmful); inside a name it stays (#AllBlacks)
COLOUR_PEOPLE = frozenset("blacks whites".split())
# Parts of the body: where a post writes one it tells what hurts or what happened (#Ribs, #Elbow under a crowded train,
# #Knuckles under underwater hockey), never what the post is about; a phrase holding one stays (leg day, knee surgery)
BODY_WORDS = frozenset("""
rib ribs elbow elbows knee knees knuckle knuckles thigh thighs finger fingers toe toes shin shins ankle ankles wrist
wrists shoulder shoulders neck hip hips forehead chin cheek cheeks nose ear ears tongue belly tummy stomach spine butt
bum leg legs arm arms hand hands foot feet
""".split())
NUMBER_WORDS = frozenset("a an one two three four five six seven eight nine ten eleven twelve twenty thirty forty "
                         "fifty hundred few several couple".split())
UNITS = frozenset("""
seconds secs minute minutes min mins hour hours hr hrs day days week weeks month months year years
mile miles km kms kilometer kilometers kilometre kilometres k kg kgs kilo kilos lb lbs pounds degree
degrees feet ft inch inches meter meters metre metres mph percent
""".split())
CONNECTORS = frozenset("of the de la le du des del der von van da di".split())  # inside spans, not "and"

QUALITY_WORDS = PACKAGE_DATA / "adjectives_en.txt"  # words only ever adjectives (export/adjectives_en.py)


@functools.lru_cache(maxsize=1)
def quality_words() -> str:
    """The English words that only name a quality ("insufferable", "lumpy", "proud"), read once: one string, a word a
    line (a look-up scans 84 KB under a sombre post only; a set of them would hold a megabyte for good)."""
    return "\n" + QUALITY_WORDS.read_text(encoding="utf-8") + "\n"


def names_a_quality(tag_words: str) -> bool:
    """A tag of one English word that only names a quality (#Insufferable), or more or most of one (#Prouder, #Loveliest)."""
    words = tag_words.split()
    if len(words) != 1 or not words[0].isalpha():
        return False
    word = words[0].lower()
    stems = [word] + [word[:-len(end)] + add for end in ("est", "er") if word.endswith(end) and len(word) > len(end) + 2
                      for add in ("", "e", "y" if word[-len(end) - 1] == "i" else "")]
    stems += [s[:-1] for s in stems if len(s) > 3 and s[-1] == s[-2]]  # biggest -> bigg -> big
    return any(f"\n{(s[:-1] + 'y' if s.endswith('i') else s)}\n" in quality_words() for s in stems)


GIVEN_NAMES = PACKAGE_DATA / "given_names_en.txt"  # people's first names, no word nor place (export/given_names.py)


@functools.lru_cache(maxsize=1)
def _given_names() -> str:
    """The given names, read once: one string, a name a line (22 KB)."""
    return "\n" + GIVEN_NAMES.read_text(encoding="utf-8") + "\n"


def given_name(tag_words: str) -> bool:
    """A tag of one English word that is a person's given name and no word nor place (#Derek, #Margaret)."""
    words = tag_words.split()
    return len(words) == 1 and words[0].isalpha() and f"\n{words[0].lower()}\n" in _given_names()
