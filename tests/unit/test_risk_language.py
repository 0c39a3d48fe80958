"""The risk-language detector: what must flag, what must not, and what a hit may carry.

The tables are the contract of the phrase list: a change to `_PHRASES` adds rows here (one that
must flag, one near miss that must not) and bumps `VERSION`.
"""
import re

import pytest

from chalicelib.domain import risk_language
from chalicelib.domain.risk_language import (
    CATEGORIES, METHOD, PASSIVE_IDEATION, SELF_HARM, SUICIDAL_INTENT, VERSION, Detection, detect, flags, normalise,
)

MUST_FLAG = [
    # SPEC §2 names these four.
    ("I want to kill myself", SUICIDAL_INTENT),
    ("I don't want to be alive anymore", PASSIVE_IDEATION),
    ("thinking about ending my life", SUICIDAL_INTENT),
    ("I have been cutting myself again", SELF_HARM),
    # suicidal intent
    ("I'm going to kill myself tonight", SUICIDAL_INTENT),
    ("i wanna kil myself", SUICIDAL_INTENT),
    ("honestly i might just kms", SUICIDAL_INTENT),
    ("I've been feeling suicidal since Tuesday", SUICIDAL_INTENT),
    ("I keep having suicidal thoughts", SUICIDAL_INTENT),
    ("I think about suicide every day", SUICIDAL_INTENT),
    ("i think im sucidal", SUICIDAL_INTENT),
    ("thinking about suicde again", SUICIDAL_INTENT),
    ("I attempted suicide in 2019", SUICIDAL_INTENT),
    ("I want to end it all", SUICIDAL_INTENT),
    ("I'm planning to end my life this weekend", SUICIDAL_INTENT),
    ("I want to take my own life", SUICIDAL_INTENT),
    ("I tried to take my life last year", SUICIDAL_INTENT),
    ("Sometimes I want to unalive myself", SUICIDAL_INTENT),
    ("I wrote a suicide note", SUICIDAL_INTENT),
    ("I just want to end it.", SUICIDAL_INTENT),
    ("I'm thinking of ending things", SUICIDAL_INTENT),
    ("I won't be around much longer", SUICIDAL_INTENT),
    ("I wish someone would kill me", SUICIDAL_INTENT),
    ("I'll kill myself if I fail this exam", SUICIDAL_INTENT),  # hyperbole or not: flag
    ("I can't stop thinking about killing myself", SUICIDAL_INTENT),
    ("is it normal to think about killing myself?", SUICIDAL_INTENT),
    ("why not just kill myself", SUICIDAL_INTENT),
    ("why not kill myself", SUICIDAL_INTENT),
    ("I almost killed myself last year", SUICIDAL_INTENT),
    ("The doctor asked if I was suicidal", SUICIDAL_INTENT),  # a question about the writer: flag
    ("I told my mum I was suicidal", SUICIDAL_INTENT),
    # passive ideation
    ("I want to die", PASSIVE_IDEATION),
    ("i just wanna die", PASSIVE_IDEATION),
    ("I want to die lol", PASSIVE_IDEATION),
    ("Everyone would be better off without me", PASSIVE_IDEATION),
    ("I'd be better off dead", PASSIVE_IDEATION),
    ("There's no reason to live", PASSIVE_IDEATION),
    ("I have nothing to live for", PASSIVE_IDEATION),
    ("I wish I was dead", PASSIVE_IDEATION),
    ("I wish I'd never been born", PASSIVE_IDEATION),
    ("I hope I don't wake up tomorrow", PASSIVE_IDEATION),
    ("I don't want to wake up", PASSIVE_IDEATION),
    ("I don't really want to live anymore", PASSIVE_IDEATION),
    ("I don't think I want to be here anymore", PASSIVE_IDEATION),
    ("I'm not sure I want to live anymore", PASSIVE_IDEATION),
    ("I don't want to exist", PASSIVE_IDEATION),
    ("I want to stop existing", PASSIVE_IDEATION),
    ("I'm so tired of living", PASSIVE_IDEATION),
    ("What's the point of living", PASSIVE_IDEATION),
    ("life isn't worth living", PASSIVE_IDEATION),
    ("I can't go on like this", PASSIVE_IDEATION),
    ("I can't go a day without wanting to die", PASSIVE_IDEATION),  # two negations cancel
    ("I don't care if I die", PASSIVE_IDEATION),
    ("I just want to go to sleep and never wake up", PASSIVE_IDEATION),
    ("I wish I could disappear forever", PASSIVE_IDEATION),
    ("I'd rather be dead", PASSIVE_IDEATION),
    ("I feel like dying", PASSIVE_IDEATION),
    ("I'm ready to die", PASSIVE_IDEATION),
    ("It would be easier if I was dead", PASSIVE_IDEATION),
    ("Nobody would miss me if I died", PASSIVE_IDEATION),
    ("I don't see the point in living anymore", PASSIVE_IDEATION),
    ("I think about dying all the time", PASSIVE_IDEATION),
    ("I keep imagining my funeral", PASSIVE_IDEATION),
    ('I keep thinking "I want to die"', PASSIVE_IDEATION),  # the writer's own thought, quoted
    ("I said I wanted to die and I meant it", PASSIVE_IDEATION),  # the writer reporting themself
    ("no i want to die", PASSIVE_IDEATION),
    ("I’m not going to lie, I want to die", PASSIVE_IDEATION),  # the negation is in another clause
    # self-harm
    ("I hurt myself last night", SELF_HARM),
    ("I want to hurt myself", SELF_HARM),
    ("I'm scared I'll hurt myself", SELF_HARM),
    ("I've been self-harming again", SELF_HARM),
    ("the urge to self harm is strong", SELF_HARM),
    ("I started cutting again", SELF_HARM),
    ("I relapsed and cut again", SELF_HARM),
    ("urges to cut", SELF_HARM),
    ("I cut my arms last night", SELF_HARM),
    ("I burned myself with a lighter on purpose", SELF_HARM),
    ("I keep hitting myself when I'm angry", SELF_HARM),
    ("I scratch until I bleed", SELF_HARM),
    ("I want to harm myself", SELF_HARM),
    # a method or a plan
    ("I've been stockpiling my pills", METHOD),
    ("I took an overdose last week", METHOD),
    ("thinking about overdosing", METHOD),
    ("I could take all my pills tonight", METHOD),
    ("I swallowed a handful of sleeping pills", METHOD),
    ("I want to jump off a bridge", METHOD),
    ("I thought about throwing myself in front of a train", METHOD),
    ("I want to hang myself", METHOD),
    ("I've thought about how I'd slit my wrists", METHOD),
    ("I want to od on my meds", METHOD),
    ("I've been researching ways to die", METHOD),
    ("I looked up how many pills it would take", METHOD),
    ("I've written letters to my family to say goodbye", METHOD),
    # spelling, case, punctuation, Unicode
    ("I WANT TO KILL MYSELF", SUICIDAL_INTENT),
    ("I   want  to\nkill   myself", SUICIDAL_INTENT),
    ("i want to kill my self", SUICIDAL_INTENT),
    ("i want to killmyself", SUICIDAL_INTENT),
    ("i want to killll myselfff", SUICIDAL_INTENT),
    ("I want to diiiie", PASSIVE_IDEATION),
    ("I want 2 die", PASSIVE_IDEATION),
    ("i am sooo suicidal", SUICIDAL_INTENT),
    ("I don’t want to be alive any more", PASSIVE_IDEATION),
    ("I dont want to be alive anymore 😭😭", PASSIVE_IDEATION),
    ("s*icide is on my mind", SUICIDAL_INTENT),
    ("I want to suïcide", SUICIDAL_INTENT),
    ("Ｉ ＷＡＮＴ ＴＯ ＤＩＥ", PASSIVE_IDEATION),
    ("Long day at work, then the meeting ran late, and honestly I don't want to be alive anymore.",
     PASSIVE_IDEATION),
]

MUST_NOT_FLAG = [
    # SPEC §2 names this one; idioms that use the words
    "this commute is killing me",
    "this job is killing me",
    "my feet are killing me",
    "I'm dying to see you next week",
    "she was dying to tell me",
    "I could kill for a coffee",
    "I'd kill to have your job",
    "just killing time before the session",
    "She looked drop dead gorgeous",
    "I nearly died laughing",
    "I want to die of embarrassment",
    "I'd rather die than sing karaoke",
    "I'm dead tired",
    "my phone died",
    "bored to death in this meeting",
    "I killed it at the presentation",
    "it was a killer workout",
    "I'm killing myself at the gym lately",
    "I've been killing myself to get this report done",
    "I'm burning myself out at work",
    "I cut myself a slice of cake",
    "cut myself some slack",
    "I've been cutting back on sugar",
    "I want to cut my hair",
    "I'll shoot myself an email reminder",
    "I could sleep forever",
    "I want to disappear into my book",
    "I want to take my life back",
    "I'm ready to die on this hill",
    "I've been drowning myself in work",
    "I hung myself a new mirror lol",
    "how to commit to a workout plan",
    "I went to say goodbye to everyone at the airport",
    "if I was gone for a week, would anyone notice the dishes",
    "that would be career suicide",
    "The suicide squad movie was fun",
    "suicide prevention training at work today",
    "sugar overdose after the party lol",
    "5 kms run this morning",
    # accidents
    "I cut myself shaving",
    "I cut my hand opening a can",
    "I burnt myself on the oven",
    "I hurt myself at the gym",
    "I nearly killed myself on the stairs",
    "I had a panic attack and felt like I was going to die",
    # everyday sentences that share words with phrases
    "I take all my meds every morning",
    "I want to live in London",
    "I don't want to wake up early tomorrow",
    "I don't want to be here at this party",
    "I want to end things with him",
    "we need to end it with a vote",
    # negation of intent
    "I would never kill myself",
    "I'm not going to kill myself",
    "I'd never hurt myself",
    "I don't want to kill myself, I want to get better",
    "I don't want to die, I'm scared",
    "I'm not suicidal, just tired",
    "I am not feeling suicidal",
    "I don't feel suicidal",
    "no suicidal thoughts this week",
    "no thoughts of suicide",
    "I haven't self-harmed in three months",
    # other people's words, other people
    "He told me to kill myself",
    "they said I should just die",
    'the song goes "I want to die"',
    'she said "I want to kill myself" in the movie',
    "my friend wants to kill herself",
    "she's suicidal",
    "my mum attempted suicide",
    "my brother died by suicide two years ago",
    "I lost my uncle to suicide",
    "my dad's suicide still haunts me",
    "my friend overdosed last year",
    # nothing at all
    "",
    "See you Thursday at 3!",
]


@pytest.mark.parametrize("text, category", MUST_FLAG, ids=[text[:40] for text, _ in MUST_FLAG])
def test_risk_language_is_flagged_with_its_category(text, category):
    detection = detect(text)
    assert detection is not None, text
    assert detection.category == category
    assert detection.version == VERSION


@pytest.mark.parametrize("text", MUST_NOT_FLAG, ids=[text[:40] or "empty" for text in MUST_NOT_FLAG])
def test_idioms_accidents_negations_and_other_peoples_words_are_not_flagged(text):
    assert detect(text) is None


def test_the_tables_are_as_large_as_the_issue_asks():
    assert len(MUST_FLAG) >= 40 and len(MUST_NOT_FLAG) >= 25


def test_a_phrase_is_flagged_inside_a_long_message():
    filler = "Work was busy again and the train was late, so I got home after eight. " * 25
    assert detect(filler) is None
    assert detect(filler + "Honestly I don't want to be alive anymore.").category == PASSIVE_IDEATION
    assert detect("I don't want to be alive anymore. " + filler).category == PASSIVE_IDEATION


def test_a_negation_in_one_sentence_does_not_cancel_a_phrase_in_the_next():
    assert detect("I'm not okay. I want to die.") is not None
    assert detect("I would never kill myself. But I want to die.").category == PASSIVE_IDEATION


def test_every_category_found_is_listed_gravest_first():
    detection = detect("I want to die. I've been cutting myself and I took an overdose.")
    assert detection.category == METHOD
    assert detection.categories == (METHOD, SELF_HARM, PASSIVE_IDEATION)


def test_a_detection_carries_no_text():
    text = "I want to kill myself because of Dr. Example at 12 Secret Lane"
    detection = detect(text)
    assert set(vars(detection)) == {"category", "categories", "version"}
    shown = repr(detection) + str(detection)
    for word in ("kill", "myself", "Example", "Secret", "Lane"):
        assert word not in shown


def test_flags_is_the_yes_or_no_of_detect():
    assert flags("I want to kill myself") is True
    assert flags("this commute is killing me") is False


def test_only_text_is_read():
    with pytest.raises(TypeError):
        detect(None)
    with pytest.raises(TypeError):
        detect(b"I want to die")


def test_the_list_is_versioned_with_a_dated_serial_and_a_change_line():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.\d+", VERSION)
    assert risk_language.CHANGES[-1][0] == VERSION
    assert CATEGORIES == (METHOD, SUICIDAL_INTENT, SELF_HARM, PASSIVE_IDEATION)


def test_every_phrase_starts_with_a_letter_and_belongs_to_a_category():
    for phrase in risk_language._PHRASES:
        assert phrase.pattern[0].isalpha() and phrase.pattern[0].islower(), phrase.pattern[:30]
        assert phrase.category in CATEGORIES


@pytest.mark.parametrize("raw, normal", [
    ("I don’t WANT to", " i dont want to "),
    ("Hi!!  How are\tyou?", " hi . . how are you . "),
    ("one, two: (three)", " one , two , , three , "),
    ("self-harm / s*icide", " self harm sicide "),  # the phrases spell out such gaps
    ("nooooo waaay", " no way "),
    ("“quoted”", ' " quoted " '),
    ("ＦＵＬＬ café 🙂", " full cafe "),
    ("", " "),
])
def test_normalising_straightens_quotes_drops_apostrophes_and_spaces_punctuation(raw, normal):
    assert normalise(raw) == normal


def test_a_detection_is_a_plain_frozen_value():
    detection = Detection(SELF_HARM, (SELF_HARM,))
    assert detection.version == VERSION
    with pytest.raises(AttributeError):
        detection.category = METHOD  # type: ignore[misc]


def test_every_phrase_compiles_though_each_letter_is_compiled_only_when_first_needed():
    from chalicelib.domain import risk_language

    assert sum(len(risk_language._identify(first)) for first in risk_language._BUCKETS) == len(
        risk_language._PHRASES)


def test_the_word_by_word_search_finds_exactly_what_one_trie_regex_finds():
    """`_matches` tries, at each word, the variants its letters can start, in the trie's order; it
    must find the same phrase starts, each with the same end, as the one regex of every variant
    it replaced, on every text of this file's tables and on texts made of their words and of the
    phrases' own prefixes run together."""
    import random
    import re

    from chalicelib.domain import risk_language as rl

    reference = re.compile(" " + rl._trie([v for p in rl._PHRASES for v in rl._spelt_out(p.pattern)]) + "(?= )")
    texts = [text for text, _ in MUST_FLAG] + MUST_NOT_FLAG
    words = sorted({rl._literal_prefix(v)[0].strip() for p in rl._PHRASES for v in rl._spelt_out(p.pattern)}
                   | {word for text in texts for word in rl.normalise(text).split()})
    rng = random.Random(16)
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    texts += [" ".join(rng.choice(MUST_FLAG)[0] for _ in range(rng.randint(2, 5))) for _ in range(300)]
    found = 0
    for text in texts:
        normal = rl.normalise(text)
        expected, position = [], 0
        while (match := reference.search(normal, position)) is not None:
            expected.append((match.start(), match.end()))
            position = match.start() + 1
        assert list(rl._matches(normal)) == expected, normal
        found += len(expected)
    assert found > 3000
