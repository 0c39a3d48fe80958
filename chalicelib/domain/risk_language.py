"""Risk language in client messages: an in-process detector of suicidal or self-harm intent
(SPEC §2 "Risk language in messages").

`detect(text)` answers a `Detection` (the gravest category found, every category found, and the
phrase-list `VERSION`) or None. It never returns, stores or logs any of the text: callers
keep `detection.category` and `detection.version` beside the message id, nothing else. No text
leaves the process (no model, no service call).

Stance: a hit never blocks a message; it tells the provider, shows crisis resources and may tell
ops. For a safety feature a false positive is cheaper than a miss, so where a phrase is
ambiguous the list leans towards flagging ("I'll kill myself if I fail this exam" flags). It
does not flag idioms that merely use the words ("this commute is killing me", "kill time",
"dying to see you", "drop dead gorgeous", "killing myself at the gym", "cut myself some slack").

How a text is read
1. Normalised: Unicode NFKD (accents dropped, fullwidth letters read as ASCII), lower case,
   curly quotes straightened, apostrophes dropped (`don't` and `dont` read alike), `*` dropped
   (`s*icide`), letters repeated 3+ times collapsed (`diiiie`), sentence punctuation and line
   breaks turned into a ` . ` token and clause punctuation into ` , `, emoji, symbols and every
   other character into single spaces.
2. Searched for where a phrase can start: every phrase is spelt out into variants that start
   with a literal prefix (`_spelt_out`); one small regex of those prefixes (`_STARTS`, a few ms
   to compile) finds the words some variant can start, and there only that prefix's variants
   are tried, each prefix's compiled the first time a text needs it, in the order one regex of
   every variant factored into a trie (`_trie`) would try them. So the search finds exactly what
   that regex finds (a test compares them) without a cold start paying ~100 ms to compile it
   before the first message, at ~100 µs for 2,000 characters. Common misspellings are spelt into the phrases (`kil myself`, `suicde`, `sucidal`,
   `wanna`, `want 2`), as are slang forms (`unalive`, `kms`, `sewer slide`, `ctb`).
3. Each candidate is then checked against its clause (the words since the last ` . ` or ` , `):
   - negation: "I would never kill myself", "I'm not suicidal", "no thoughts of suicide",
     "I don't want to die", "I haven't cut myself in months" do not flag. Only the phrase's
     polarity is negated: "I don't want to be alive anymore", "I don't want to live" and
     "no reason to live" are phrases of their own and flag. Two negations cancel ("I can't go a
     day without wanting to die" flags), and "why not kill myself" is not a negation;
   - reported speech: "he told me to kill myself", "she said I should just die" do not flag
     (someone else's words); "I said I want to die" does;
   - quotes: a phrase inside double quotes does not flag when what introduces the quote is a
     song, film, book, post... or a third person speaking (`the song goes "I want to die"`,
     `she said "I want to die"`); `I keep thinking "I want to die"` does;
   - other people: for phrases without a first-person object ("suicide", "suicidal", "self
     harm", "overdose", "noose"), a third-person subject ("my brother attempted suicide",
     "she is suicidal"), a possessive ("my dad's suicide"), a bereavement ("died by suicide",
     "lost my uncle to suicide") or an idiom ("career suicide", "sugar overdose") does not flag.
     Phrases with "myself"/"me"/"my life" need no such check;
   - some phrases need a frame before them (`kms` only after "want to", "gonna", "just"...;
     "sleep forever" only after "want to", "wish I could"...), and some must not follow a word
     that makes them accidental ("accidentally cut myself").
4. Categories, gravest first: `method` (a means or plan: overdose, hanging, jumping, pills),
   `suicidal_intent` (kill myself, end my life, suicide), `self_harm` (cutting, burning,
   hurting oneself), `passive_ideation` (want to die, better off dead, no reason to live).

Known limits (English only; no leetspeak beyond `su1c1de`/`want 2`; quotes in single quotes are
not recognised; names as third persons are not recognised, so "John said he wants to kill
himself" does not flag while "John is suicidal" does). Ambiguity resolves towards flagging.

Adding phrases and bumping the version
- Add a `_p(category, pattern, ...)` line to `_PHRASES` in its category. The pattern is written
  against normalised text: lower case, no apostrophes (`dont`, `im`, `ive`), words separated by
  exactly one space, and it must start with a literal lower-case letter (the trie that keeps
  `detect` fast is built on literal prefixes). A negative lookahead names whole words
  (`(?! (?:a|some))` excludes "cut myself a slice", not "cut myself again"). Macros:
  `<MYSELF>`, `<END>` (the clause ends here), `<PILLS>`, `<PLACES>`. Use `subjectless=True` when the phrase names
  no first person, `only_after`/`not_after` for a required or forbidden frame before it.
- Add at least one row that must flag and one near miss that must not to
  tests/unit/test_risk_language.py, and run it and `python -m tests.bench risk_language`.
- Bump `VERSION` (`YYYY-MM-DD.n`, the date of the change and a serial for that day) and add a
  line to `CHANGES`. Flags are stored with the version that raised them, so a later review can
  tell which list decided.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

VERSION = "2026-12-01.1"
CHANGES = (
    ("2026-12-01.1", "first list: suicidal intent, passive ideation, self-harm, methods; negation, "
                     "reported speech, quotes, third persons, idioms"),
)

METHOD, SUICIDAL_INTENT, SELF_HARM, PASSIVE_IDEATION = "method", "suicidal_intent", "self_harm", "passive_ideation"
CATEGORIES = (METHOD, SUICIDAL_INTENT, SELF_HARM, PASSIVE_IDEATION)  # gravest first
_RANK = {category: n for n, category in enumerate(CATEGORIES)}


@dataclass(frozen=True)
class Detection:
    """What a hit says: never the text, never the matched words."""
    category: str                    # the gravest category found
    categories: tuple[str, ...]      # every category found, gravest first
    version: str = VERSION


# --- normalising -------------------------------------------------------------------------------

_UNICODE = str.maketrans({
    **{c: "'" for c in "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4\uff07"},
    **{c: '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"},
    **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
    **{c: "." for c in "\u2026\u3002"},
    **{c: None for c in "\u00ad\u200b\u200c\u200d\u2060\ufeff"},
})
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")
# One character for one (str.translate's fast path): sentence ends become ".", clause breaks ",",
# other punctuation a space; apostrophes and "*" (as in "s*icide") go.
_ASCII = str.maketrans({
    **{c: "." for c in ".!?;\n\r\f\v"},
    **{c: "," for c in ",:()[]{}"},
    **{c: " " for c in "-/\\_~#@&+=|<>^%$\t"},
    "'": None, "`": None, "*": None,
})
_REPEATS = re.compile(r"([a-z])\1\1+")


def _has_a_run_of_three(text: str) -> bool:
    """Whether some character occurs 3+ times in a row, in ~10 µs instead of the regex's ~100:
    XOR the ASCII bytes with themselves shifted by one; two adjacent zero bytes mean a run."""
    data = text.encode("ascii")
    if len(data) < 3:
        return False
    diff = int.from_bytes(data[:-1], "big") ^ int.from_bytes(data[1:], "big")
    return b"\0\0" in diff.to_bytes(len(data) - 1, "big")


def normalise(text: str) -> str:
    """The text as the phrases read it: ` word word . word , word ` (leading and trailing space)."""
    if not text.isascii():
        # NFKD: fullwidth and ligatures to ASCII, accents split off (then dropped: "suïcide");
        # whatever is still not ASCII (emoji, symbols, other scripts, exotic spaces) is a space.
        text = unicodedata.normalize("NFKD", text).translate(_UNICODE)
        text = _NOT_ASCII.sub(" ", _COMBINING.sub("", text))
    text = " " + text.lower().translate(_ASCII).replace(".", " . ").replace(",", " , ").replace('"', ' " ') + " "
    while "  " in text:
        text = text.replace("  ", " ")
    if _has_a_run_of_three(text):  # rare ("diiie", "sooo", "2000"): only then pay for the regex
        text = _REPEATS.sub(r"\1", text)
    return text


# --- the phrases -------------------------------------------------------------------------------

_MACROS = {
    "<MYSELF>": r"(?:my ?s(?:elf|elff|lef|ef|lf|elv)|mself|meself)",
    "<END>": r"(?= [.,]| $)",
    "<PILLS>": (r"(?:pills|meds|medication|medications|medicine|tablets|paracetamol|tylenol|acetaminophen|"
                r"sleeping pills|sleeping tablets|antidepressants|painkillers|pain killers|insulin|xanax|benzos|"
                r"opioids|prescription)"),
    "<PLACES>": (r"(?:bridge|building|roof|rooftop|cliff|balcony|window|tower|car park|carpark|multi storey|"
                 r"parking (?:garage|lot|structure)|train|tube|bus|truck|lorry|car|traffic|motorway|highway|"
                 r"freeway|overpass|ledge)"),
}


@dataclass(frozen=True)
class _Phrase:
    category: str
    pattern: str
    subjectless: bool = False       # names no first person: check for third persons and idioms
    only_after: str | None = None   # the clause before it must end with this (regex, `$`-anchored)
    not_after: str | None = None    # the clause before it must not end with this


def _whole_words(pattern: str) -> str:
    """Every negative lookahead `(?! X)` becomes `(?!(?: X)(?= ))`: an exclusion names whole words,
    so `cut myself (?! a)` excludes "cut myself a slice" but not "cut myself again"."""
    out, i = [], 0
    while (start := pattern.find("(?!", i)) >= 0:
        depth, j, in_class = 0, start, False
        while True:
            c = pattern[j]
            if c == "\\":
                j += 2
                continue
            if in_class:
                in_class = c != "]"
            elif c == "[":
                in_class = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        body = _whole_words(pattern[start + 3:j])
        out.append(pattern[i:start] + "(?!(?:" + body + ")(?= ))")
        i = j + 1
    out.append(pattern[i:])
    return "".join(out)


def _p(category, pattern, *, subjectless=False, only_after=None, not_after=None) -> _Phrase:
    for name, value in _MACROS.items():
        pattern = pattern.replace(name, value)
    return _Phrase(category, _whole_words(pattern), subjectless, only_after, not_after)


_FRAME = (r"(?:want to|wanna|wana|want 2|going to|gonna|gunna|about to|bout to|ready to|planning to|plan to|"
          r"planning on|decided to|need to|have to|tempted to|urge to|urges to|thinking about|thinking of|"
          r"thought about|thought of|thoughts of|thoughts about|might|will|ill|id|should|could|just|literally|"
          r"finna|ima|imma|im gonna|i)")
_ACCIDENT = r"(?:accidentally|nearly|almost|might have|may have)"
_DIE_IDIOM = (r"(?! (?:of|from) (?:embarrassment|laughter|laughing|cringe|boredom|shame|happiness|jealousy)"
              r"| laughing| a little| inside| happy| old| in old age| on (?:this|that|a) hill)")
_LIFE = (r"(?:live(?= [.,]| $| any ?more| any longer| like this| this life| another day| in this world| on this earth)"
         r"|be alive|stay alive|keep living|go on living|carry on living|continue living|exist|be me any ?more"
         r"|be here(?= [.,]| $| any ?more| any longer| on this earth| in this world)"
         r"|be around(?= [.,]| $| any ?more| any longer)"
         r"|wake up(?! (?:early|at|so early|before|for|to go|in time))"
         r"|keep going(?= [.,]| $| any ?more| any longer)"
         r"|go on(?= [.,]| $| any ?more| any longer| like this)"
         r"|carry on(?= [.,]| $| any ?more| any longer| like this)"
         r"|be in this world|be on this earth)")
_NEG_WANT_FILLER = r"(?: (?:really|even|ever|actually|honestly|think i|feel like i|know if i|know why i|feel like))*"
_WANT_V = r"(?:want(?:ed)? (?:to|too|2)|wanna|wana|wnt to|wan to|feel like i want to)"

_PHRASES: tuple[_Phrase, ...] = (
    # -- a method or a plan -----------------------------------------------------------------------
    _p(METHOD, r"overdos(?:e|ed|es|ing)(?! (?:of|on) (?:sugar|caffeine|carbs?|cuteness|information|coffee|chocolate|"
               r"candy|sweets|netflix|tv|love|vitamins?|sun))", subjectless=True,
       not_after=r"(?:sugar|caffeine|carb|carbs|cuteness|information|coffee|chocolate|candy|data|vitamin|tv|netflix|"
                 r"accidental|opioid|opiate|fentanyl|heroin|drug|drugs|the) $"),
    _p(METHOD, r"od(?:d|ed|ing|ding)? on (?:my |all my |all of my |the |some |a bunch of |a load of |loads of |"
               r"some of my |all the )?<PILLS>"),
    _p(METHOD, r"od<END>", only_after=_FRAME + " $"),
    _p(METHOD, r"t(?:ake|ook|aking|aken) (?:all|every one|the rest)(?: of)? (?:my |the |these |those )?<PILLS>"
               r"(?= [.,]| $| at once| in one go| together| tonight)"),
    _p(METHOD, r"t(?:ake|ook|aking|aken) (?:too many|a (?:whole )?(?:bottle|box|pack|packet|handful|bunch|load|lot) of"
               r"|loads of|the whole (?:bottle|box|pack|packet)(?: of)?) (?:my |the |these |those )?<PILLS>"),
    _p(METHOD, r"swallow(?:ed|ing|s)? (?:all|every one|a (?:whole )?(?:bottle|box|pack|packet|handful|bunch|load|lot)"
               r"|the whole (?:bottle|box|pack|packet)|too many|loads)(?: of)? (?:my |the |these |those )?<PILLS>"),
    _p(METHOD, r"stockpil(?:e|ed|es|ing)(?: up)? (?:my |some |the )?<PILLS>"),
    _p(METHOD, r"hoard(?:ed|ing|s)? (?:my |some |the )?<PILLS>"),
    _p(METHOD, r"sav(?:e|ed|ing) up (?:my |some |the )?<PILLS>"),
    _p(METHOD, r"h(?:ang|anging|ung|anged) <MYSELF>(?! (?:a|an|some))"),
    _p(METHOD, r"noose(?! (?:is|was) tightening| tightens| tightening| scene)", subjectless=True),
    _p(METHOD, r"jump(?:ing|ed|s)? (?:off|from|in front of|infront of|under) (?:(?:a|the|my|this|that|an|some|our) )?"
               r"(?:\w+ )?<PLACES>"),
    _p(METHOD, r"throw(?:ing|s)? <MYSELF> (?:off|from|in front of|infront of|under|into) "
               r"(?:(?:a|the|my|this|that|an|some) )?(?:\w+ )?(?:<PLACES>|river|sea|lake)"),
    _p(METHOD, r"threw <MYSELF> (?:off|from|in front of|infront of|under|into) "
               r"(?:(?:a|the|my|this|that|an|some) )?(?:\w+ )?(?:<PLACES>|river|sea|lake)"),
    _p(METHOD, r"step(?:ping|ped|s)? (?:out )?(?:in front of|infront of) (?:a |the |an )?(?:\w+ )?"
               r"(?:train|bus|truck|lorry|car|tube|traffic)"),
    _p(METHOD, r"walk(?:ing|ed|s)? (?:into|in front of|infront of) (?:the |a |an )?(?:oncoming )?"
               r"(?:traffic|train|bus|truck|lorry|sea|river|lake|ocean)"),
    _p(METHOD, r"d(?:rive|riving|rove|riven) (?:my car |the car )?(?:into|off) (?:a|the) "
               r"(?:wall|tree|bridge|cliff|lorry|truck|river|oncoming traffic)"),
    _p(METHOD, r"crash(?:ing|ed)? (?:my|the) car (?:on purpose|deliberately|into a (?:wall|tree))"),
    _p(METHOD, r"l(?:ie|ay|ying) (?:down )?on (?:the|a) (?:train |railway )?tracks"),
    _p(METHOD, r"s(?:hoot|hooting|hot) <MYSELF>(?! (?:in the (?:foot|feet|leg)|an?|a quick|(?:an )?(?:email|message|"
               r"text|reminder|note|dm|photo|video)))"),
    _p(METHOD, r"gun to my (?:head|temple)"),
    _p(METHOD, r"put(?:ting)? a (?:gun|bullet|pistol) (?:to|in|through) my (?:head|brain|mouth|temple)"),
    _p(METHOD, r"blow(?:ing)? my (?:brains|head) (?:out|off)"),
    _p(METHOD, r"bullet (?:in|through) my (?:head|brain|skull)"),
    _p(METHOD, r"drown(?:ing|ed|s)? <MYSELF>(?! in (?:my )?(?:work|paperwork|tasks|chores|study|studying|revision|"
               r"emails|books|music|projects))"),
    _p(METHOD, r"poison(?:ing|ed)? <MYSELF>"),
    _p(METHOD, r"gas(?:sing|sed)? <MYSELF>"),
    _p(METHOD, r"suffocat(?:e|ing|ed) <MYSELF>"),
    _p(METHOD, r"s(?:mother|mothering|mothered|tab|tabbing|tabbed|trangle|trangling|trangled) <MYSELF>"
               r"(?! (?:with (?:a|the|my) fork|by accident|accidentally))", not_after=_ACCIDENT + " $"),
    _p(METHOD, r"electrocut(?:e|ing|ed) <MYSELF>(?! (?:changing|fixing|on|by accident|accidentally))",
       not_after=_ACCIDENT + " $"),
    _p(METHOD, r"s(?:lit|litting|lash|lashing|lashed) my (?:wrists?|throat|arms?|veins?)"),
    _p(METHOD, r"cut(?:ting)? (?:my|both) (?:wrists?|throat|veins?)(?! (?:on|while|by accident|accidentally))",
       not_after=_ACCIDENT + " $"),
    _p(METHOD, r"goodbye (?:notes?|letters?)"),
    _p(METHOD, r"letters? (?:\w+ ){0,4}(?:to )?say(?:ing)? goodbye"),
    _p(METHOD, r"say(?:ing)? (?:my )?(?:final |last )?goodbyes? to (?:everyone|everybody|the world|you all|this world)"
               r"(?= [.,]| $| forever| for good| for the last time)"),
    *(_p(METHOD, word + r" to (?:die|end it|end my life)(?! (?:happy|well|with dignity))",
         not_after=r"(?:best|healthy|better|good|right) $") for word in ("ways", "methods", "how")),
    _p(METHOD, r"painless (?:way|ways|death|method|methods)"),
    _p(METHOD, r"how many (?:pills|tablets|paracetamol|sleeping pills|painkillers|meds) (?:it would take|would it take|"
               r"does it take|would kill|to (?:die|overdose|kill))"),

    # -- suicidal intent --------------------------------------------------------------------------
    _p(SUICIDAL_INTENT, r"kill? ?<MYSELF>(?! laughing)"),
    _p(SUICIDAL_INTENT, r"kill?ing <MYSELF>(?! (?:laughing|trying|working|studying|revising|to (?:get|finish|make|"
                        r"meet|keep|pay|be|stay|do|please|impress|try|hit|lose)|at (?:work|the gym|the office|training|"
                        r"practice|uni|school)|over (?:this|that|it|the|my|an?|work)|for (?:this|that|the|my|work|an?|"
                        r"nothing|them|him|her)|with (?:work|overtime|this)))"),
    _p(SUICIDAL_INTENT, r"kill?ed <MYSELF>(?! (?:laughing|on|falling|tripping|slipping|skiing|cycling|running|"
                        r"in (?:a|the) (?:crash|accident|fall|gym)|at (?:the gym|work)|for (?:this|that|nothing|them)|"
                        r"to (?:get|finish|make|meet)))"),
    _p(SUICIDAL_INTENT, r"w(?:ant|ish|ished|anted|ishing)(?: for)? (?:someone|somebody|something|some one|god|a car|"
                        r"a bus|a truck|cancer|it) (?:to|would|will|could) (?:just )?(?:kill|take) me"),
    _p(SUICIDAL_INTENT, r"hop(?:e|ing) (?:someone|somebody|something|a car|a bus|a truck|cancer|god) "
                        r"(?:kills|will kill|would kill|takes|will take) me"),
    _p(SUICIDAL_INTENT, r"pray(?:ing|ed)? (?:for )?(?:god|someone|something) (?:to|will|would) (?:kill|take) me"),
    _p(SUICIDAL_INTENT, r"s[ui1]{1,3}[cs]{1,2}[i1]?d(?:e|es|ed|al|ial|le|ally|ality)?(?! (?:squad|prevention|"
                        r"awareness|bomber|bombers|bombing|bombings|bomb|doors|blonde|forest|rates?|statistics|stats|"
                        r"research|training|mission|missions|run|runs|king|kings))", subjectless=True,
       not_after=r"(?:political|career|social|commercial|electoral|professional|financial|corporate|fashion|"
                 r"economic) $"),
    _p(SUICIDAL_INTENT, r"sewer ?slide", subjectless=True),
    _p(SUICIDAL_INTENT, r"un ?aliv(?:e|ing)(?! (?:him|her|them|you|u|people|someone|somebody|everyone))",
       subjectless=True),
    _p(SUICIDAL_INTENT, r"kms", only_after=_FRAME + " $"),
    _p(SUICIDAL_INTENT, r"ctb", only_after=_FRAME + " $"),
    _p(SUICIDAL_INTENT, r"end(?:ing|ed|s)? (?:my (?:own )?life|it all|my (?:own )?existence|everything(?= [.,]| $| now|"
                        r" tonight| today| for good))"),
    _p(SUICIDAL_INTENT, r"end(?:ing)? things(?! (?:with|between|off|on))", only_after=_FRAME + " $"),
    _p(SUICIDAL_INTENT, r"end it(?: (?:now|tonight|today|for good|once and for all|soon))?<END>",
       only_after=_FRAME + " $"),
    _p(SUICIDAL_INTENT, r"t(?:ake|aking|ook|aken) my (?:own )?life(?! (?:back|in(?:to)?|for granted|seriously|"
                        r"one day at a time|forward|step by step|as it comes|to the next|off|away from))"),
    _p(SUICIDAL_INTENT, r"w(?:ont|ill not) be (?:around|here|alive) (?:much longer|for much longer|any ?more|"
                        r"any longer|by (?:tomorrow|next week|the weekend|christmas|then))"),

    # -- self-harm --------------------------------------------------------------------------------
    _p(SELF_HARM, r"self ?(?:harm|harming|harmed|harms|hurt|hurting|injur(?:e|y|ies|ing|ed|ious)|"
                  r"mutilat(?:e|ion|ing|ed))(?! (?:awareness|prevention|training|policy|policies|risk assessment))",
       subjectless=True),
    _p(SELF_HARM, r"cut(?:ting|s)? <MYSELF>(?! (?:a|an|some|off|out|short|slack|free|loose|in|shaving|while|back|"
                  r"on (?:a|the|some|glass|paper|my)|by accident|accidentally|cooking|chopping|opening|with (?:a|the) "
                  r"(?:kitchen )?knife while))", not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"cutting(?:(?= [.,]| $)| (?:again|deep|deeper))",
       only_after=(r"(?:been|started|start|starting|keep|kept|back to|stop|stopped|quit|urge to|urges to|want to|wanna|"
                   r"relapsed|thinking about|thoughts of|thought about|going to|gonna|need to|craving|crave|miss|"
                   r"addicted to|i am|im|was|ive been|i) $")),
    _p(SELF_HARM, r"cut(?:(?= [.,]| $)| again| (?:deep|deeper))",
       only_after=(r"(?:want to|wanna|need to|urge to|urges to|going to|gonna|tempted to|have to|i|ive|i have|i had|"
                   r"relapsed and|relapsed and i) $")),
    _p(SELF_HARM, r"cut(?:ting)? (?:my|both) (?:arms?|thighs?|legs?|skin|stomach|hips?|forearms?|wrists?)"
                  r"(?! (?:on|open on|while|by accident|accidentally|shaving))", not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"burn(?:ing|ed|t|s)? <MYSELF>(?! (?:out|on|while|cooking|making|ironing|with (?:the|a|hot) "
                  r"(?:iron|kettle|oven|stove|pan|tea|coffee|water|curling)|by accident|accidentally|in the sun|at the|"
                  r"badly on))", not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"hurt(?:ing|s)? <MYSELF>(?! (?:at (?:the )?(?:gym|work|training|football|practice|rugby|soccer|park)"
                  r"|playing|lifting|running|exercising|working out|training|falling|tripping|slipping|skiing|"
                  r"snowboarding|cycling|climbing|on (?:the|a|my) \w+|by accident|accidentally|in (?:the|a) "
                  r"(?:fall|accident|crash|game|match)|doing|moving|carrying|badly at|during))",
       not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"harm(?:ing|ed|s)? <MYSELF>"),
    _p(SELF_HARM, r"hit(?:ting|s)? <MYSELF>(?! (?:in the (?:face|head|eye|nose|mouth) with|on|with (?:the|a) "
                  r"(?:door|cupboard|cabinet|ball|racket)|by accident|accidentally))", not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"punch(?:ing|ed|es)? <MYSELF>", not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"scratch(?:ing|ed|es)? <MYSELF>(?! (?:on|by accident|accidentally))", not_after=_ACCIDENT + " $"),
    _p(SELF_HARM, r"m(?:ake|ade|aking) <MYSELF> bleed"),
    _p(SELF_HARM, r"until?l? i (?:bleed|bled)"),
    _p(SELF_HARM, r"till? i (?:bleed|bled)"),

    # -- passive ideation -------------------------------------------------------------------------
    _p(PASSIVE_IDEATION, r"w(?:ant(?:ed|s|ing)? (?:to|too|2)|anna|ana|nt (?:to|2)|an to|ish (?:i could|i would|to)|"
                         r"ish i (?:could|would) just)(?: just)? die" + _DIE_IDIOM),
    _p(PASSIVE_IDEATION, r"ready to die" + _DIE_IDIOM),
    _p(PASSIVE_IDEATION, r"deserve to die"),
    _p(PASSIVE_IDEATION, r"need to die" + _DIE_IDIOM),
    _p(PASSIVE_IDEATION, r"hop(?:e|ing) (?:that )?i (?:die|dont wake up|do not wake up|never wake up|wont wake up|"
                         r"dont make it|get hit by (?:a|the) (?:car|bus|train|truck|lorry))(?! (?:of|laughing))"),
    _p(PASSIVE_IDEATION, r"pray(?:ing|ed)? (?:that )?i (?:die|dont wake up|never wake up|wont wake up)"),
    _p(PASSIVE_IDEATION, r"pray(?:ing|ed)? for death"),
    _p(PASSIVE_IDEATION, r"feel(?:ing|s)? like dying(?! (?:laughing|of))"),
    _p(PASSIVE_IDEATION, r"rather (?:just )?(?:die|be dead|not (?:exist|be alive|be here|wake up))(?! than)"),
    _p(PASSIVE_IDEATION, r"better off dead"),
    _p(PASSIVE_IDEATION, r"better (?:off )?(?:without me|if i (?:was|were|wasnt|werent|was not|were not|never existed|"
                         r"had never been born|died|was gone|were gone|disappeared)(?: (?:dead|gone|here|around|alive|"
                         r"born))?)"),
    _p(PASSIVE_IDEATION, r"w(?:ant(?:ed|s)? (?:to|2) be|anna be) dead"),
    _p(PASSIVE_IDEATION, r"wish(?:ed|ing)? (?:that )?i (?:(?:was|were|could be|would be|was just) dead|"
                         r"(?:wasnt|werent|was not|were not) (?:alive|here|born|around)|(?:had|d) never been born|"
                         r"(?:had|d) never existed|never existed|was never born|(?:could|would) (?:just )?(?:die|"
                         r"disappear|vanish|stop existing|cease to exist|not wake up|never wake up|not exist|"
                         r"fall asleep and (?:never|not) wake up|go to sleep and (?:never|not) wake up|sleep forever|"
                         r"end it)|(?:didnt|wouldnt|would not|did not|dont|do not|never) wake up)"),
    _p(PASSIVE_IDEATION, r"wish(?:ed|ing)? (?:that )?id (?:never (?:been born|existed)|(?:just )?(?:die|disappear|"
                         r"vanish)|be dead|not wake up|never wake up|not exist)"),
    _p(PASSIVE_IDEATION, r"d(?:ont|o not|nt|idnt|id not|oesnt|oes not)" + _NEG_WANT_FILLER + " " + _WANT_V + " "
                         + _LIFE),
    _p(PASSIVE_IDEATION, r"n(?:o longer|ever|ot sure i|ot sure if i)" + _NEG_WANT_FILLER + " " + _WANT_V + " "
                         + _LIFE),
    _p(PASSIVE_IDEATION, r"d(?:ont|o not|idnt|id not)(?: even| really)? care if i (?:die|live|wake up|dont wake up|"
                         r"never wake up|get hit|dont make it)"),
    _p(PASSIVE_IDEATION, r"d(?:ont|o not|idnt|id not) deserve to (?:live|be alive|exist|be here)"),
    _p(PASSIVE_IDEATION, r"s(?:houldnt|hould not) (?:be alive|exist|have been born|be here any ?more|"
                         r"be on this earth)"),
    _p(PASSIVE_IDEATION, r"c(?:ant|annot|an not) (?:live|go on|carry on|keep living|keep going)(?: like this)? "
                         r"(?:any ?more|any longer)"),
    _p(PASSIVE_IDEATION, r"c(?:ant|annot|an not) (?:go on|live|carry on) like this"),
    _p(PASSIVE_IDEATION, r"c(?:ant|annot|an not) (?:bear|stand|face) (?:to )?(?:live|living|being alive|another day|"
                         r"going on|waking up)"),
    _p(PASSIVE_IDEATION, r"no (?:reason|point|purpose|will|desire)(?: (?:left|any ?more))? (?:in |to |of |for )?"
                         r"(?:live|living|life|being alive|going on|keep going|keep living|carry on|carrying on|"
                         r"stay alive|staying alive|exist|existing|wake up|waking up|be here|being here)"),
    _p(PASSIVE_IDEATION, r"nothing (?:left )?(?:to live for|worth living for)"),
    _p(PASSIVE_IDEATION, r"n(?:ot|ever|o longer) worth (?:living|being alive|staying alive|it any ?more|going on)"),
    _p(PASSIVE_IDEATION, r"i(?:snt|s not) worth (?:living|being alive|staying alive|it any ?more|going on)"),
    _p(PASSIVE_IDEATION, r"a(?:int|rent|re not) worth (?:living|being alive|it any ?more)"),
    _p(PASSIVE_IDEATION, r"what(?:s| is) the point (?:in |of )?(?:living|life|being alive|going on|carrying on|"
                         r"existing|waking up|staying alive)"),
    _p(PASSIVE_IDEATION, r"tired of (?:living|being alive|life|existing|waking up|being here)"),
    _p(PASSIVE_IDEATION, r"sick of (?:living|being alive|life|existing|waking up|being here)"),
    _p(PASSIVE_IDEATION, r"exhausted (?:of|by|with) (?:living|being alive|life|existing)"),
    _p(PASSIVE_IDEATION, r"done with (?:living|being alive|life|existing)"),
    _p(PASSIVE_IDEATION, r"g(?:ive|iven|iving|ave) up on (?:life|living)"),
    _p(PASSIVE_IDEATION, r"w(?:ant(?:ed|s)?|ish) (?:my life|it all|everything|this life|the world) to "
                         r"(?:end|be over|stop)"),
    _p(PASSIVE_IDEATION, r"sleep forever",
       only_after=r"(?:want to|wanna|wana|wish i could|wish to|want to go to|wanna go to|just want to|go to) $"),
    _p(PASSIVE_IDEATION, r"sleep (?:tonight )?and (?:never|not) wake up"),
    _p(PASSIVE_IDEATION, r"asleep (?:tonight )?and (?:never|not) wake up"),
    _p(PASSIVE_IDEATION, r"disappear(?: forever| for good| completely| from existence| from this world)?"
                         r"(?! (?:into|from (?:the|this) (?:party|room|conversation|meeting|chat)|for a (?:bit|while|"
                         r"day|week|weekend|month|few)|on holiday|to))",
       only_after=r"(?:want to|wanna|wana|wish i could|wish to|need to|just want to|could just|just) $"),
    _p(PASSIVE_IDEATION, r"disappear (?:forever|for good|from existence|from this world)"),
    _p(PASSIVE_IDEATION, r"vanish (?:forever|for good|from existence)"),
    _p(PASSIVE_IDEATION, r"if i (?:was|were) (?:dead|gone(?= [.,]| $| for good| forever))"),
    _p(PASSIVE_IDEATION, r"if i (?:died|wasnt (?:alive|here(?= [.,]| $| any ?more)|around(?= [.,]| $| any ?more))|"
                         r"werent (?:alive|here(?= [.,]| $| any ?more)|around(?= [.,]| $| any ?more)))"),
    _p(PASSIVE_IDEATION, r"point (?:in|of|to) (?:living|being alive|staying alive|going on|carrying on|existing)"),
    *(_p(PASSIVE_IDEATION, word + r" about (?:dying|death|being dead)(?= [.,]| $| all the time| a lot| every day|"
                                  r" constantly| more and more)") for word in ("think", "thinking", "thought")),
    _p(PASSIVE_IDEATION, r"obsess(?:ed|ing)? (?:with|about|over) (?:death|dying)"),
    _p(PASSIVE_IDEATION, r"my (?:own )?funeral",
       only_after=(r"(?:imagine|imagining|imagined|plan|planning|planned|picture|picturing|think about|thinking about|"
                   r"thought about|write|writing|organise|organising|organize|organizing|dream about|dreaming about) $")),
    _p(PASSIVE_IDEATION, r"w(?:ant|anna|ant to get) out of (?:this|my) life(?= [.,]| $)"),
    _p(PASSIVE_IDEATION, r"stop existing"),
    _p(PASSIVE_IDEATION, r"cease to exist"),
    _p(PASSIVE_IDEATION, r"not exist any ?more"),
)


_SPECIAL = set("()[]{}\\.|?*+^$")


def _literal_prefix(pattern: str) -> tuple[str, str]:
    """The literal characters a pattern starts with, and the rest (`kill? x` → `kil`, `l? x`)."""
    n = 0
    while n < len(pattern) and pattern[n] not in _SPECIAL:
        n += 1
    if n < len(pattern) and pattern[n] in "?*+{" and n:
        n -= 1  # the last literal is quantified: it belongs to the rest
    return pattern[:n], pattern[n:]


def _close(pattern: str, opened: int) -> int:
    """The index of the `)` closing the group opened at `opened`."""
    depth, i, in_class = 0, opened, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced group in {pattern!r}")


def _alternatives(body: str) -> list[str]:
    """`a|b(c|d)|e` → `a`, `b(c|d)`, `e` (top level only)."""
    out, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(body[start:i])
            start = i + 1
        i += 1
    return out + [body[start:]]


def _spelt_out(pattern: str, enough: int = 3) -> list[str]:
    """The pattern as alternatives that each start with at least `enough` literal characters, by
    distributing a leading `(?:…|…)` group (`d(?:ont|o not) x` → `dont x`, `do not x`)."""
    prefix, rest = _literal_prefix(pattern)
    if len(prefix) >= enough or not rest.startswith("(?:"):
        return [pattern]
    closed = _close(rest, 0)
    after = rest[closed + 1:]
    if after[:1] in ("?", "*", "+", "{"):
        return [pattern]
    return [variant for alternative in _alternatives(rest[3:closed])
            for variant in _spelt_out(prefix + alternative + after, enough)]


def _trie(patterns: list[str]) -> str:
    """The reference search (tests compare `_matches` with it): one regex for many, factored on their literal prefixes, so that at each word start the
    engine compares one character at a time against the letters some phrase can continue with,
    instead of trying every phrase (sre gives a branch starting with a literal a fast reject)."""
    root: dict = {}
    for pattern in patterns:
        prefix, rest = _literal_prefix(pattern)
        node = root
        for c in prefix:
            node = node.setdefault(c, {})
        node.setdefault("", []).append(rest)

    def emit(node: dict) -> str:
        parts = [re.escape(c) + emit(child) for c, child in sorted((k, v) for k, v in node.items() if k)]
        parts += ["(?:" + rest + ")" if rest else "" for rest in node.get("", [])]
        return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"

    return emit(root)


@dataclass(frozen=True)
class _Compiled:
    phrase: _Phrase
    pattern: re.Pattern
    only_after: re.Pattern | None
    not_after: re.Pattern | None


def _buckets() -> dict[str, tuple[_Phrase, ...]]:
    buckets: dict[str, list[_Phrase]] = {}
    for phrase in _PHRASES:
        first = phrase.pattern[0]
        if not ("a" <= first <= "z") or phrase.pattern[1:2] in ("?", "*", "+", "{"):
            raise ValueError(f"a phrase must start with a literal lower-case letter: {phrase.pattern[:30]!r}")
        buckets.setdefault(first, []).append(phrase)
    return {first: tuple(phrases) for first, phrases in buckets.items()}


_BUCKETS = _buckets()


def _variants_by_letter() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every phrase spelt out into variants with a literal prefix (`_spelt_out`), as
    `(prefix, variant)` per first letter, in the order `_trie`'s alternation tries them
    (depth first: a longer prefix before the shorter one it extends, letters in order, then the
    phrases' order), so the first variant matching at a word is the one the trie would match."""
    variants = [(_literal_prefix(variant)[0], variant) for p in _PHRASES for variant in _spelt_out(p.pattern)]
    variants.sort(key=lambda pair: pair[0] + "\U0010ffff")  # stable: phrase order within a prefix
    out: dict[str, list[tuple[str, str]]] = {}
    for prefix, variant in variants:
        out.setdefault(prefix[0], []).append((prefix, variant))
    return {first: tuple(pairs) for first, pairs in out.items()}


# The search: at each word whose first letters are some variant's literal prefix, that prefix's
# variants (compiled the first time a text needs them: a cold start pays for the few its first
# message can start, not for one regex of every phrase) say whether a phrase starts there and
# where it ends. Exactly what `_trie`'s one regex finds (tests compare the two).
_VARIANTS = _variants_by_letter()


def _short(prefix: str) -> bool:
    """A prefix of fewer than three letters (`s`, `un`, `my `, `no `): too common to scan for."""
    return len(prefix.strip()) < 3


# Where a phrase can start: the leading space of a word that begins with some variant's literal
# prefix (a lookahead: no word start is skipped). Variants with a short prefix are in it whole,
# or every word starting with `s` or `my` would be a candidate. It compiles in a few ms (the rest
# of each phrase is not in it), and the scan between candidates runs in the regex engine.
_STARTS = re.compile(" (?=" + _trie(sorted({
    prefix + "(?:" + _literal_prefix(variant)[1] + ")(?= )" if _short(prefix) else prefix
    for pairs in _VARIANTS.values() for prefix, variant in pairs})) + ")")


@functools.lru_cache(maxsize=None)
def _group(prefix: str) -> re.Pattern:
    """The variants of one literal prefix, as the trie's node for it has them: the prefix, then
    each variant's rest in turn."""
    rests = ["(?:" + _literal_prefix(variant)[1] + ")" for prefix_, variant in _VARIANTS[prefix[0]] if prefix_ == prefix]
    return re.compile(" " + re.escape(prefix) + "(?:" + "|".join(rests) + ")(?= )")


@functools.lru_cache(maxsize=4096)
def _could_start(head: str) -> tuple[str, ...]:
    """The literal prefixes (the trie's order) a word whose first three characters are `head` can
    start with."""
    return tuple(dict.fromkeys(prefix for prefix, _variant in _VARIANTS.get(head[:1], ())
                               if (head.startswith(prefix) if len(prefix) < len(head) else prefix.startswith(head))))


def _matches(normal: str):
    """(start, end) of each position where a phrase starts, in order, as `_trie`'s regex would
    match there (`_trie(...).search(normal, position)` is the first of these at or after it)."""
    for start in _STARTS.finditer(normal):
        at = start.start()
        for prefix in _could_start(normal[at + 1:at + 4]):
            if normal.startswith(prefix, at + 1) and (match := _group(prefix).match(normal, at)):
                yield at, match.end()
                break


@functools.lru_cache(maxsize=None)
def _prefixes(phrase: _Phrase) -> tuple[str, ...]:
    return tuple({_literal_prefix(variant)[0] for variant in _spelt_out(phrase.pattern)})


@functools.lru_cache(maxsize=None)
def _compiled(phrase: _Phrase) -> _Compiled:
    return _Compiled(phrase, re.compile(" " + phrase.pattern + "(?= )"),
                     re.compile(" " + phrase.only_after) if phrase.only_after else None,
                     re.compile(" " + phrase.not_after) if phrase.not_after else None)


def _identify(first: str) -> tuple[_Compiled, ...]:
    """The phrases starting with `first`, compiled (all of them: the tests' check that each compiles)."""
    return tuple(_compiled(p) for p in _BUCKETS.get(first, ()))


# --- the checks around a candidate -------------------------------------------------------------

_NEG_CORE = (r"(?<!why )(?:not|never|dont|do not|didnt|did not|doesnt|does not|wont|will not|wouldnt|would not|"
             r"couldnt|could not|cant|cannot|can not|isnt|arent|wasnt|werent|havent|have not|hasnt|has not|hadnt|"
             r"had not|shouldnt|should not|aint|no longer|nor|no|without|zero|denies|denied|deny)")
_NEG_FILLER = (r"(?:really|ever|even|actually|honestly|seriously|truly|currently|presently|at all|be|been|being|feel|"
               r"feeling|felt|have|had|having|any|any more|anymore|more|got|get|getting|thoughts? (?:of|about)|"
               r"urges? to|plans? to|intentions? (?:of|to)|intend to|going to|gonna|want to|wanna|plan to|planning to|"
               r"planning on|thinking (?:about|of)|think about|thought about|considering|consider|feel like|"
               r"ever been|go and|try to|tried to|attempt to|attempted to|need to|like to)")
_NEGATED = re.compile(r" " + _NEG_CORE + r"(?: " + _NEG_FILLER + r")* $")
_NEG_ANYWHERE = re.compile(r" " + _NEG_CORE + r"(?= )")

_SPEAKERS = (r"(?:he|she|they|you|u|someone|somebody|people|everyone|everybody|others|kids|trolls|strangers|"
             r"(?:my|his|her|their|our|a|the|this|that|some) \w+)")
_REPORTED = re.compile(
    r" " + _SPEAKERS + r"(?: (?!i )\w+){0,3} (?:told|tell|tells|telling|said|says|say|saying|keeps? telling|"
    r"kept telling|wants|wanted|want|asked|asks|dared|dares|dare|yelled at|screamed at|shouted at|texted|messaged)"
    r"(?: me)?(?: that)?(?: i should| i ought to| i need to| to| id| i would| i should just)?"
    r"(?: just| go| go and| go ahead and| should just)? $")

_QUOTE_CUE = re.compile(
    r" (?:song|songs|lyric|lyrics|sing|sings|sang|singing|film|movie|show|series|episode|book|novel|poem|poetry|"
    r"character|meme|memes|title|game|quote|quoted|quoting|tiktok|tweet|tweeted|posted|video|article|headline|"
    r"graffiti|joke|joked|joking|caption|" + _SPEAKERS + r"(?: \w+){0,2} (?:said|says|say|told|tells|wrote|writes|"
    r"posted|texted|messaged|yelled|shouted|screamed|whispered|goes|went))(?= )")

_RELATIVES = (r"(?:mum|mom|mother|mam|ma|dad|father|da|pa|brother|bro|sister|sis|son|daughter|child|kid|kids|children|"
              r"friend|friends|bestie|best friend|mate|partner|husband|wife|boyfriend|girlfriend|bf|gf|ex|cousin|uncle|"
              r"aunt|auntie|grandma|grandmother|gran|nan|nana|grandad|granddad|grandpa|grandfather|colleague|"
              r"coworker|co worker|classmate|roommate|flatmate|housemate|neighbour|neighbor|patient|client|student|"
              r"teacher|boss|sibling|family member|relative|fiance|fiancee|stepdad|stepmum|stepmom|niece|nephew|teen|"
              r"teenager)")
_OTHER_PERSON = re.compile(
    r"(?: (?:he|she|they|hes|shes|theyre|theyve|theyd|hed|shed|hell|shell|someone|somebody|"
    r"(?:my|our|his|her|their|a|the|your|this) (?:\w+ ){0,2}" + _RELATIVES + r")"
    r"(?: (?:has|had|have|is|was|were|are|been|just|also|once|nearly|almost|recently|sadly|tragically|commit|"
    r"committed|commits|attempt|attempted|attempts|tried|tries|trying|to|died|seems|seemed|sounds|sounded|feels|felt|"
    r"got|became|went|may|might|could|be|being|really|so|very|s|from|of|by|through|wants|wanted|want|going|gonna|"
    r"threatened|threatening|talks about|talked about|about|a|an|the|his|her|their|own))* $"
    r"| (?:his|her|their|(?:" + _RELATIVES + r")s) $"
    r"| (?:died|death|deaths|passed away|passed|lost (?:\w+ ){1,4}to|loss to|losing (?:\w+ ){1,4}to|bereaved by)"
    r"(?: by| from| of| through)? $)")


_REACH = 160


def _clause_start(text: str, at: int) -> int:
    """Where the clause holding position `at` starts: just after the last ` . ` or ` , `."""
    boundary = max(text.rfind(" . ", 0, at), text.rfind(" , ", 0, at))
    return boundary + 2 if boundary >= 0 else 0


def _in_reported_quote(text: str, at: int) -> bool:
    if text.count('"', 0, at) % 2 == 0:
        return False
    opened = text.rfind('"', 0, at)
    sentence = max(text.rfind(" . ", 0, opened) + 2, 0)
    before = text[max(sentence, opened - 120):opened]
    return _QUOTE_CUE.search(" " + before) is not None


def _negated(prefix: str) -> bool:
    if not _NEGATED.search(prefix):
        return False
    return len(_NEG_ANYWHERE.findall(prefix)) < 2  # two negations cancel: flag


def _counts(candidate: _Compiled, text: str, at: int) -> bool:
    """Whether the candidate phrase at `at` (its leading space) is the writer's own risk language."""
    # The clause before the phrase, ending with the space before it; at most _REACH characters,
    # so a long unpunctuated message with many near misses stays linear.
    prefix = text[max(_clause_start(text, at), at - _REACH):at + 1]
    if candidate.only_after and not candidate.only_after.search(prefix):
        return False
    if candidate.not_after and candidate.not_after.search(prefix):
        return False
    if _negated(prefix) or _REPORTED.search(prefix):
        return False
    if candidate.phrase.subjectless and _OTHER_PERSON.search(prefix):
        return False
    return not ('"' in text and _in_reported_quote(text, at))


# --- the detector ------------------------------------------------------------------------------

def detect(text: str) -> Detection | None:
    """A `Detection` when the text carries suicidal or self-harm language, else None."""
    if not isinstance(text, str):
        raise TypeError("detect() takes the message text as a str")
    if not text:
        return None
    normal = normalise(text)
    found: set[str] = set()
    position = 0
    for at, end in _matches(normal):
        if at < position:
            continue  # inside the phrase just found
        hit = None
        for phrase in _BUCKETS.get(normal[at + 1], ()):
            if not any(normal.startswith(prefix, at + 1) for prefix in _prefixes(phrase)):
                continue  # cannot start here: left uncompiled
            candidate = _compiled(phrase)
            if candidate.pattern.match(normal, at) and _counts(candidate, normal, at):
                hit = candidate.phrase
                break
        if hit is None:
            continue
        found.add(hit.category)
        position = end
    if not found:
        return None
    ordered = tuple(sorted(found, key=_RANK.__getitem__))
    return Detection(ordered[0], ordered)


def flags(text: str) -> bool:
    return detect(text) is not None
