"""Topics a post names in a set phrase rather than in the topic's word, which the post's other words hide from the
encoder: "6 years today with this goofball", "10 years married today", "3 yrs together" tell of an anniversary (a fitted
sheet and the coffee he makes had won; eight typical feeds in a row lost #Anniversary so), "getting a filling" of the
dentist, "my 5yo just told me" of parenting. A loss a year on ("a year since we lost mum"), a price a month ("$219 a
month with zero claims") and a pie's filling are none. runtime/topics.py `TopicTags.picked` makes each a very clear
topic."""

from __future__ import annotations

import re

_COUNT = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty)"
# topic words -> its set phrases
OCCASIONS = {
    "anniversary": re.compile(rf"\b{_COUNT}\s*(?:years?|yrs?)\s+(?:today\s+)?(?:with\b|together\b|married\b)", re.I),
    # a child of the poster's doing or saying something ("my 5yo just told me", "my 15 y/o asked me"; not "our 14 year old
    # lab", "our 78 yo lead"): #Eyes, #Sleepover and #Insomnia had stood under a 5yo asleep on the couch
    "parenting": re.compile(r"\b(?:my|our)\s+(?:1[0-7]|[1-9]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
                            r"\s*-?\s*(?:yo|y/o|yr\s+old|yrs\s+old|year\s+old|years\s+old|year-old)\s+"
                            r"(?:just|still|now|has|is|was|had|keeps|wants|thinks|says|said|told|made|drew|built|came|got|"
                            r"asked|decided|refuses|refused|will|won't|can|can't|she|he|[a-z]+ed)\b", re.I),
    # a dental treatment (#DrinkWater had stood under "first time getting a filling as an adult")
    "dentist": re.compile(r"\b(?:got|getting|get|had|having|need|needed|needs)\s+(?:a\s+|my\s+|two\s+|\d\s+)?"
                          r"(?:fillings?|root\s+canal|wisdom\s+(?:tooth|teeth)(?:\s+out)?|tooth\s+out|teeth\s+cleaned)\b(?!\s+of\b)", re.I),
}
CELEBRATIONS = frozenset({"anniversary"})  # what no grief post names (runtime/safety.py `SafetyFilter.context_for`)


def occasions(text: str) -> list[str]:
    """The topic words of the occasions the text names in a set phrase, in OCCASIONS' order."""
    return [topic for topic, phrase in OCCASIONS.items() if phrase.search(text or "")]
