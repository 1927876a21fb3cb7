"""Does a message state a claim only to rebut it? ("People say X, but that's a myth.")

Such a message needs no answer, and answering it as if it made the claim would be wrong and rude. The test
is a short list of rebuttal phrases on normalised text: precision first, so a message with any of them is
left alone, unless the matched claim's own examples use the same words (a claim such as "social credit is
a Western myth" is made *with* them).
"""

from __future__ import annotations

import re

__all__ = ["rebuts", "REBUTTAL"]

#: The same in the other languages the gate knows (German, French, Spanish, Italian, Portuguese): myth,
#: does not exist, is false, misunderstood, exaggerated, fake news.
_OTHER_LANGUAGES = (
    r"mythos|mythen|gibt es (?:so )?nicht|existiert (?:so )?nicht|stimmt (?:so )?nicht|irreführend|"
    r"fälschlich\w*|irrtum|übertrieben|falschmeldung\w*|fehlinformation\w*|kein einheitliche\w*|"
    r"keinen einheitlichen|mythes?|n(?:'| )?existe pas|idées? reçues?|fantasme\w*|exagér\w*|infox|désinformation|"
    r"pas (?:de|une) (?:note|système) unique|mitos?|miti|no existe|não existe|non esiste|exagerad\w*|"
    r"esagerat\w*|bulos?|bufal\w*|desinformación|desinformação|disinformazione|errat[ao] idea|idea errónea|"
    r"leggend\w*|leyenda urbana|lenda urbana"
)
_NT = r"n(?:'| )?t"  # "isn't", "isnt", and "isn t" (a curly apostrophe is removed by normalising)
_S = r"(?:'| )?s"
REBUTTAL = re.compile(
    rf"\b(?:myths?|misconceptions?|debunk\w*|not true|is{_NT} true|(?:is|are) false|untrue|no such thing|"
    rf"(?:does{_NT}|does not|do{_NT}|do not) (?:really |even |actually )?exist|"
    rf"(?:is{_NT}|is not|are{_NT}|are not) (?:really |even |actually )?(?:real|a thing|how it works)|"
    rf"misreport\w*|misunderst\w*|overblown|overhyped|exaggerat\w*|fake news|not actually|"
    rf"that{_S} not how|contrary to|misinformation|urban legend|mostly fiction|is fiction|"
    rf"(?:is{_NT}|is not|are{_NT}|are not) (?:a |one )?(?:single|unified)|there(?: is|{_S}) no (?:single|unified|such)|"
    # A denial of what the system does or is like: "it does not assign anyone a score", "nor does it...",
    # "is not remotely the same thing as Nosedive", "is not based on AI", "wrongly described as" (not "does
    # not score well" or "was wrongly blacklisted", which are claims).
    rf"(?:does{_NT}|does not|do{_NT}|do not|did{_NT}|did not) (?:really |even |actually |necessarily |automatically )?"
    rf"(?:assign|track|affect|involve|lower|reduce|dock|deduct)\w*|"
    rf"nor (?:does|do|did|is|are|was)|not (?:remotely|really|quite|exactly|at all|in any way|even close to) "
    rf"(?:the same|like|what)|(?:is|are|was)(?: not|{_NT}) based on|"
    rf"(?:falsely|wrongly|incorrectly|mistakenly|erroneously) (?:described|called|portrayed|reported|claimed|"
    rf"believed|assumed|labell?ed|depicted|seen|thought|said)|no evidence|"
    # Reported, not asserted: "they claim that...", "the claim that..."; a company's "independent of any government".
    rf"(?:they|people|some|many|critics|media|posts?) (?:claim|allege)s? that|the claim that|"
    rf"independent (?:of|from) (?:any |the )?(?:government|state)|"
    # "No one in China is losing points for...", "nobody gets banned for a tweet".
    rf"(?:no one|nobody|no-one) (?:\w+ ){{0,3}}?(?:is|are|gets?|got|will|has|have|ever|actually|really)(?: \w+)? "
    rf"(?:los\w*|lost|punish\w*|dock\w*|bann\w*|block\w*|deni\w*|refus\w*|arrest\w*|jail\w*)|"
    rf"(?:only|merely|nur) (?:\w+ )?(?:local |vereinzelte )?(?:pilots?|pilot projects|test- und pilotprojekte|pilotprojekte)|"
    # How explainers correct the popular picture: "oversimplified", "sensationalised", "not as dystopian as",
    # "no single score", "there is no national score", "not what people think" (none of these words appears in
    # a claim on the dev sets; a claim that the system is a Western myth is exempt, as above).
    rf"oversimplif\w*|hyperbol\w*|sensationali[sz]\w*|caricatur\w*|"
    rf"(?:is{_NT}|is not|are{_NT}|are not|was{_NT}|was not|(?:it|that|this){_S} not) (?:nearly |quite |really )?as "
    rf"(?:dystopian|bad|scary|sinister|"
    rf"orwellian|draconian|all-seeing|omnipresent)|less (?:dystopian|sinister|orwellian|draconian|scary) than|"
    rf"there(?: is|{_S}) no (?:national|nationwide|centrali[sz]ed|universal|one)|"
    rf"(?:is{_NT}|is not|are{_NT}|are not|not) (?:a |one )?(?:national|nationwide|centrali[sz]ed|universal) "
    rf"(?:score|system|rating)|no (?:single|one|unified) (?:score|number|rating|system)|"
    rf"(?:is{_NT}|is not|are{_NT}|are not) what (?:people|most|many|westerners|you)|"
    rf"(?:is{_NT}|is not|isnt|not) (?:a )?real (?:thing|system)|(?:popular|western) (?:imagination|perception)s?|"
    # How fact checks word a verdict: "unfounded", "misleading", "not the case", "in reality", "no proof",
    # "far from ready", "may not mean what you think", "there isn't a social credit score".
    rf"unfounded|baseless|groundless|unsubstantiated|misleading|hoax\w*|inaccurate|"
    rf"(?:is|was|simply) not the case|(?:is{_NT}|was{_NT}) the case|in reality|the reality is|"
    rf"mis(?:represent|characteri[sz]|interpret)\w*|false (?:claims?|narrative|impression|premise)|"
    rf"no (?:proof|indication)|(?:lack of|lacks|little|scant) evidence|fact[- ]?check\w*|"
    rf"far from (?:ready|complete|completed|finished|done|implemented|fully|a reality|unified|universal|nationwide)|"
    rf"(?:does{_NT}|does not|may not|might not|did{_NT}|did not) (?:really |actually |necessarily )?mean what|"
    rf"there(?: is{_NT}| is not| is no|{_S} no) (?:a |any )?(?:social credit |citizen |personal |national )?scores?\b|"
    + _OTHER_LANGUAGES + r")\b"
)


#: Chinese has no spaces, so no word boundaries: rumour, misunderstanding, does not exist, myth, exaggerated.
_HAN_REBUTTAL = re.compile("谣言|謠言|误解|誤解|误读|不存在|神话|神話|夸大|誇大|并非|並非|不实|不實")


#: "Is this true or fake news?", "myth or real?": asking whether the claim holds is asking about it, not rebutting it.
_TRUE = r"(?:true|real|fact|legit)"
_MYTH = r"(?:myth|fake|exaggerat\w*|hoax|misinformation|propaganda|overblown|overhyped)"
_TRUE_OR_MYTH = re.compile(
    rf"\b{_TRUE}\s+or\s+(?:just\s+)?(?:an?\s+)?(?:{_MYTH}|urban legend)|\b{_MYTH}(?: news)?\s+or\s+(?:is\s+it\s+)?{_TRUE}\b"
)


def rebuts(text: str) -> bool:
    """True when normalised ``text`` contains a rebuttal phrase (and does not ask whether the claim is true or a myth)."""
    if REBUTTAL.search(text) is None and (text.isascii() or _HAN_REBUTTAL.search(text) is None):
        return False
    return _TRUE_OR_MYTH.search(text) is None
