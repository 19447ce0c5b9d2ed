"""Offline fact extraction from a dependency parse: personal facts without a large model.

:class:`ParseExtractor` reads each statement with spaCy's small English pipeline (:mod:`memory.nlp`: tagger,
dependency parser, named entities; ~5-15 ms per sentence) and builds triples of the ontology
(:mod:`memory.semantic.ontology`) in four passes per sentence:

1. **Possessed nouns** (kinship, social and pet nouns): "my sister Greta", "a sister named Greta",
   "Greta is my sister", "my sister's name is Greta", "Greta, my sister, ...", "a sister whose name is Greta"
   -> ``(user, sister, Greta)`` and ``(Greta, is_a, person)``; "my dog Rufus", "a beagle called Rufus", "a
   beagle and named it Rufus" -> ``(user, has_pet, Rufus)`` and ``(Rufus, is_a, beagle)``. The noun then stands
   for the name when it is a subject ("My sister Greta lives in Hamburg", "..., who lives in Hamburg").
2. **Predicates**: each clause's verb (with its ``xcomp`` chain: "started working at", "used to live in",
   "am planning to visit") and its complements (direct object, attribute, adjective, prepositional objects,
   also those hanging off the object: "a job as a pilot at Lufthansa") are looked up in a lexicon of
   predicate frames, ``(lemma, preposition or role) -> relation``. The lexicon is general English for personal
   facts (about 140 frames); an unknown verb with an object gives an open relation (``speaks``, ``drives``)
   when the clause is in the present tense (habits and states, not one-off events).
3. **Polarity and time**: a negated or "no longer"/"anymore" clause closes the fact it names instead of
   asserting it ("I don't live in Lyon anymore"); a negated liking is a dislike. Closing verbs close facts:
   quitting or leaving a job, moving out, a pet or person dying, breaking up, recovering. Valid time comes from
   the clause's time expressions (:mod:`memory.temporal`); a clause about the future ("I'm moving to Berlin
   next month") is a plan, not yet a fact; "used to" and a past-tense state with "until" give a closed fact.
4. **Relations by meaning** (with a :class:`~memory.semantic.relations.RelationMatcher`, on the bundled
   embedder): a sentence about the speaker in which the lexicon found no canonical relation ("I'm based in
   Oslo", "Acme pays my salary", "I've got a sesame allergy") is compared, once per candidate object, with the
   ontology's phrasings of each relation; the nearest relation is kept when the object fits it (a name for a
   home or an employer, an occupation for a job, a verb phrase for a plan), and a taste's polarity is read from
   its words ("annoys", "no patience", "not a fan"). The sentence's open relations give way to it.

Subjects are resolved: first-person pronouns are the speaker; "he"/"she"/"they" the last person the speaker
named or the last "my sister" without a name (``"<speaker>'s sister"``); a relative "who" its head noun; an
object "it"/"them"/"this" the nearest thing named before it ("Karaoke is loud and I detest it"). Times are
never objects ("for years", "at the moment"). Questions, conditionals ("if I lived...") and
hypotheticals ("I would love to...") state no fact. Statements by the agent itself are skipped by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from memory import temporal
from memory.semantic.base import Statement, Triple
from memory.semantic.ontology import KIN_WORDS, render
from memory.semantic.ontology import relation as known_relation
from memory.semantic.relations import Match, RelationMatcher


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


OCCUPATIONS = _words(
    """accountant actor actress administrator analyst animator architect artist assistant astronaut athlete
    attorney auditor author baker banker barber barista bartender biologist blogger bookkeeper builder
    butcher carpenter cashier caregiver chef chemist cleaner clerk coach consultant cook counselor
    counsellor courier dancer dentist designer detective developer dietitian director doctor driver
    economist editor electrician engineer entrepreneur farmer firefighter fisherman florist gardener
    geologist graphic guard guide hairdresser historian illustrator instructor interpreter investor
    janitor jeweler journalist judge laborer lawyer lecturer librarian lifeguard linguist locksmith
    machinist manager mechanic midwife miner model musician nanny navigator nurse nutritionist officer
    optician painter paramedic pharmacist photographer physician physicist physiotherapist pianist pilot
    plumber poet policeman policewoman politician postman producer professor programmer psychiatrist
    psychologist publisher radiologist realtor receptionist reporter researcher sailor salesman
    saleswoman salesperson scientist sculptor secretary singer soldier statistician student supervisor
    surgeon surveyor tailor teacher technician therapist translator trainer tutor veterinarian vet
    waiter waitress welder writer youtuber paralegal intern professor ceo cto founder owner freelancer
    housewife homemaker retiree"""
)
"""Head nouns of occupations ("I'm a nurse"); nouns ending in -ist, -eer, -ician also count."""

PET_NOUNS = _words(
    """dog puppy pup cat kitten kitty parrot budgie canary bird rabbit bunny hamster gerbil guinea mouse
    rat ferret turtle tortoise fish goldfish snake lizard gecko iguana horse pony chicken hen goat pig
    frog beagle labrador retriever poodle terrier spaniel bulldog dachshund husky collie shepherd
    chihuahua pug corgi greyhound rottweiler boxer schnauzer dalmatian doberman setter pointer maltese
    shih tabby siamese persian"""
)
"""Nouns of pets and common breeds ("a beagle named Rufus")."""

CONDITIONS = re.compile(
    r"(asthma|diabetes|migraine|arthritis|epilepsy|anxiety|depression|insomnia|adhd|autism|eczema|"
    r"psoriasis|hypertension|cancer|celiac|coeliac|dyslexia|tinnitus|scoliosis|itis$|osis$|disease|disorder|"
    r"syndrome|pain|allergy|allergies|intolerance|blood pressure|cholesterol|injury|condition)"
)
DIETS = _words(
    "vegetarian vegan pescatarian pescetarian keto paleo gluten-free lactose-free halal kosher teetotal"
)
JOB_NOUNS = _words("job position role career post work gig")
SCHOOL = re.compile(r"(university|college|school|academy|institute|polytechnic|conservatory)", re.I)

GREETINGS = _words("meet hi hello hey dear welcome")
"""Words of an introduction the small tagger takes for part of the name after them ("Meet Wilma")."""
FIRST_PERSON = _words("i me my mine myself we us our ours ourselves")
TIME_WORDS = _words(
    """moment time times now present while day days week weeks month months year years decade decades ages
    today tonight weekend weekends morning mornings evening evenings night nights someday sometime"""
)
"""Nouns of time, never the object of a fact ("I live here at the moment", "I've been a chef for years")."""
NEGATIVE = _words(
    """hate hates dislike detest loathe despise abhor annoy annoys annoying irritate irritates irritating bother
    bothers bore bores boring bored worst awful terrible horrible dreadful disgusting gross crazy nuts sick
    tired fed"""
)
"""Words that make a statement of taste negative ("X annoys me", "I'm sick of X"); see :func:`_dislike`."""

THIRD_PERSON = _words("he she him her his hers they them their")
HYPOTHETICAL = _words("would could might should may")

ASPECT = _words("start begin continue keep stop quit try decide get")
"""Verbs of aspect whose infinitive or gerund is the content verb ("started working", "keep going")."""
LIKE = _words("like love enjoy adore prefer fancy dig")
DISLIKE = _words("hate dislike detest loathe despise abhor")
OWN = _words("have own adopt get rescue buy keep take")
PLAN = _words("plan intend hope want aim expect")
LIKE_ADJ = {
    "fond": "of",
    "crazy": "about",
    "passionate": "about",
    "obsessed": "with",
    "keen": "on",
    "mad": "about",
}

FRAMES: dict[tuple[str, str], str] = {
    **{(v, p): "lives_in" for v in ("live", "reside", "settle", "base", "stay") for p in ("in", "at")},
    **{(v, "to"): "lives_in" for v in ("move", "relocate", "emigrate")},
    ("come", "from"): "from",
    ("be", "from"): "from",
    ("hail", "from"): "from",
    ("grow", "in"): "from",
    ("bear", "in"): "from",
    ("raise", "in"): "from",
    **{(v, "as"): "works_as" for v in ("work", "employ", "serve", "start", "hire", "train", "freelance")},
    **{(n, "as"): "works_as" for n in JOB_NOUNS},
    **{
        (v, p): "works_for" for v in ("work", "employ", "hire", "intern") for p in ("for", "at", "with", "by")
    },
    **{(n, p): "works_for" for n in JOB_NOUNS - {"work"} for p in ("at", "with", "for")},
    ("join", "dobj"): "works_for",
    ("study", "dobj"): "studies",
    ("major", "in"): "studies",
    ("study", "at"): "studies_at",
    ("attend", "dobj"): "studies_at",
    ("student", "at"): "studies_at",
    ("student", "of"): "studies",
    ("enrol", "at"): "studies_at",
    ("enroll", "at"): "studies_at",
    **{(v, r): "likes" for v in LIKE for r in ("dobj", "xcomp")},
    **{(a, p): "likes" for a, p in LIKE_ADJ.items()},
    ("be", "into"): "likes",
    ("fan", "of"): "likes",
    ("lover", "of"): "likes",
    ("play", "dobj"): "likes",
    ("practice", "dobj"): "likes",
    ("practise", "dobj"): "likes",
    ("collect", "dobj"): "likes",
    ("go", "xcomp"): "likes",  # "I go hiking every weekend" (present tense only, see _verb_frames)
    **{(v, r): "dislikes" for v in DISLIKE for r in ("dobj", "xcomp")},
    ("allergic", "to"): "allergic_to",
    ("allergy", "to"): "allergic_to",
    ("suffer", "from"): "condition",
    ("diagnose", "with"): "condition",
    ("avoid", "dobj"): "avoids",
    ("avoid", "xcomp"): "avoids",
    **{(v, r): "plans" for v in PLAN for r in ("xcomp", "dobj")},
    ("think", "about"): "plans",
}
"""Predicate frames: ``(lemma of the verb, adjective or noun, preposition or role) -> relation``."""

OPEN_ROLES = ("dobj", "attr")

Embed = Callable[[list[str]], Any]


@dataclass
class _Context:
    """What earlier sentences of a speaker established: the last person named (for he/she)."""

    last_person: dict[str, str] = field(default_factory=dict)


@dataclass
class _Sentence:
    """One sentence being read: its statement, the speaker's name, and nouns resolved to names."""

    statement: Statement
    speaker: str
    names: dict[int, str] = field(default_factory=dict)  # token index -> entity it stands for
    out: list[Triple] = field(default_factory=list)

    def add(
        self,
        subject: str,
        relation: str,
        obj: str,
        *,
        clause: Any = None,
        confidence: float = 0.8,
        closes: bool = False,
        valid: tuple[float | None, float | None] = (None, None),
    ) -> None:
        obj = _strip(obj)
        if not subject or (not obj and not closes):
            return
        if obj.lower() in TIME_WORDS and relation not in ("likes", "dislikes"):
            return  # "for years", "at the moment" are times; "I hate mornings" is a taste
        start, end = valid
        if clause is not None and start is None and end is None:
            start, end = temporal.valid_time(clause.text, self.statement.timestamp)
        valid_from = start if start is not None else self.statement.timestamp
        if end is not None and end < valid_from:
            end = None  # "until" before the start: trust the start, leave the end open
        text = render(subject, relation, obj) if obj else f"{subject} no longer: {relation.replace('_', ' ')}"
        triple = Triple(subject, relation, obj, text, self.statement.id, valid_from, end, confidence, closes)
        if triple not in self.out:
            self.out.append(triple)


def _strip(text: str) -> str:
    text = " ".join(text.replace("\u2019", "'").split()).strip(" .,;:!\"'")
    return re.sub(r"^(the|a|an|my|our|some|his|her|their)\s+", "", text, flags=re.I)


class ParseExtractor:
    """Facts from a dependency parse (module docstring). ``parse`` is a spaCy pipeline (text -> Doc); default
    :func:`memory.nlp.parse`. Deterministic; about 10 ms per sentence on one core."""

    name = "parser"

    def __init__(
        self, parse: Callable[[str], Any] | None = None, matcher: RelationMatcher | None = None
    ) -> None:
        if parse is None:
            from memory.nlp import parse as default_parse

            parse = default_parse
        self._parse = parse
        self.matcher = matcher

    def __call__(self, statements: Sequence[Statement]) -> list[Triple]:
        context = _Context()
        sentences: list[_Sentence] = []
        unread: list[tuple[_Sentence, Any, list[_Candidate]]] = []
        for st in statements:
            if not st.text.strip():
                continue
            speaker = st.speaker or "user"
            doc = self._parse(st.text)
            for sent in doc.sents:
                if _is_question(sent):
                    continue
                s = _Sentence(st, speaker)
                _possessed(s, sent, context)
                for verb in _predicates(sent):
                    _clause(s, verb, context)
                sentences.append(s)
                if self.matcher is not None and _unread(s, sent):
                    unread.append((s, sent, _candidates(sent)))
        if unread and self.matcher is not None:
            patterns = [c.pattern for _, _, cands in unread for c in cands]
            matches = iter(self.matcher.match(patterns))
            for s, sent, cands in unread:
                _matched(s, sent, [(c, next(matches)) for c in cands])
        return [t for s in sentences for t in s.out]


# -- helpers over spaCy tokens --------------------------------------------------------------------------------


def _is_question(sent: Any) -> bool:
    text = sent.text.strip()
    if text.endswith("?"):
        return True
    first = sent[0]
    return first.tag_ in ("WDT", "WP", "WRB") and first.dep_ not in ("mark", "advmod")


def _children(tok: Any, *deps: str) -> list[Any]:
    return [c for c in tok.children if c.dep_ in deps]


def _conjuncts(tok: Any) -> list[Any]:
    """``tok`` and the tokens coordinated after it ("peanuts and shellfish")."""
    return [tok, *[c for c in tok.conjuncts if c.i > tok.i]]


def _entity_text(tok: Any) -> str | None:
    ent = tok.doc[tok.i : tok.i + 1].ents
    for e in tok.doc.ents:
        if e.start <= tok.i < e.end and e.label_ not in ("DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY"):
            words = [t for t in e if not (t.i < tok.i and t.lower_ in GREETINGS)]  # "Meet Wilma": Wilma
            return " ".join(t.text for t in words)
    return None if not ent else str(ent[0].text)


def _phrase(tok: Any) -> str:
    """The words of a noun (or verb) phrase without determiners and clauses: "a sound engineer" -> "sound
    engineer", "hiking in the Alps" -> "hiking in the Alps", "to cook Italian food" -> "cook Italian food"."""
    ent = _entity_text(tok)
    if ent and tok.pos_ == "PROPN":
        return ent
    named = _surface_name(tok) or next(
        (
            str(g.text)
            for c in tok.children
            if c.dep_ == "acl" and c.lemma_ in ("name", "call")
            for g in c.children
            if g.pos_ == "PROPN"
        ),
        None,
    )
    if named:  # "a small town called Drammen"
        return named
    if tok.pos_ in ("VERB", "AUX"):
        words = [tok.text]
        for c in tok.rights:
            if c.dep_ in ("dobj", "prt", "prep", "acomp", "attr", "xcomp", "npadvmod", "advmod") and not (
                _is_time(c) or c.lower_ in TIME_WORDS or (c.dep_ == "advmod" and c.pos_ != "ADV")
            ):
                words.append(_span_text(c))
        return " ".join(words)
    keep = [
        c
        for c in tok.lefts
        if c.dep_ in ("compound", "amod", "nmod", "nummod", "poss")
        and c.lower_ not in FIRST_PERSON | THIRD_PERSON
    ]
    keep = [t for c in keep for t in c.subtree if t.dep_ != "det" and t.lower_ not in FIRST_PERSON]
    rights = [t for c in tok.rights if c.dep_ in ("compound", "flat", "nummod") for t in c.subtree]
    for c in tok.rights:  # "a cup of tea", "a sense of humour": of-phrases belong to the noun
        if c.dep_ == "prep" and c.lower_ == "of":
            rights.extend(c.subtree)
    return " ".join(_cased(t) for t in sorted([*keep, tok, *rights], key=lambda t: t.i))


def _cased(tok: Any) -> str:
    """A word as written, but a common word capitalised only because it starts the sentence in lower case
    ("Karaoke is loud" -> "karaoke")."""
    if tok.i == tok.sent.start and tok.pos_ != "PROPN" and not tok.ent_type_ and tok.text[1:].islower():
        return str(tok.text.lower())
    return str(tok.text)


def _span_text(tok: Any) -> str:
    return " ".join(t.text for t in tok.subtree if t.dep_ not in ("det", "punct", "cc") and not _is_time(t))


def _is_time(tok: Any) -> bool:
    return tok.ent_type_ in ("DATE", "TIME")


def _predicates(sent: Any) -> Iterator[Any]:
    """The clause heads of a sentence: the root and verbs coordinated with it or embedded as clauses."""
    for tok in sent:
        if tok.dep_ == "ROOT" or (
            tok.dep_ in ("conj", "ccomp", "advcl", "relcl") and tok.pos_ in ("VERB", "AUX")
        ):
            if any(c.dep_ == "mark" and c.lower_ in ("if", "unless", "whether") for c in tok.children):
                continue
            yield tok


def _subject_token(verb: Any) -> Any | None:
    subj = _children(verb, "nsubj", "nsubjpass", "expl")
    if subj and verb.dep_ == "relcl" and subj[0].lower_ in ("who", "that", "which"):
        return verb.head  # "my cousin Ivo, who lives in Turin": the relative pronoun stands for its head
    if subj:
        return subj[0]
    if verb.dep_ in ("conj", "xcomp") and verb.head is not verb:
        return _subject_token(verb.head)
    return None


def _negated(verb: Any) -> bool:
    for c in verb.children:
        if c.dep_ == "neg" or c.lower_ in ("never", "anymore"):
            return True
        if c.lower_ == "longer" and any(g.lower_ == "no" for g in c.children):
            return True
        if c.dep_ == "advmod" and c.lower_ == "more" and any(g.lower_ == "any" for g in c.children):
            return True
    return any(c.dep_ == "neg" for c in verb.doc[verb.i - 2 : verb.i] if c.head.i in (verb.i, verb.i - 1))


def _modal(verb: Any) -> bool:
    return any(c.dep_ == "aux" and c.lower_ in HYPOTHETICAL for c in verb.children)


def _resolve(s: _Sentence, tok: Any, context: _Context) -> str | None:
    """The entity a subject (or object) token stands for, or None for what states no personal fact."""
    low = tok.lower_
    if low in FIRST_PERSON:
        return s.speaker
    if tok.i in s.names:
        return s.names[tok.i]
    if low in THIRD_PERSON:
        return context.last_person.get(s.speaker)
    if tok.pos_ == "PROPN":
        name = _entity_text(tok) or tok.text
        if not tok.ent_type_ or tok.ent_type_ == "PERSON":
            context.last_person[s.speaker] = name
        return name
    owner = [c for c in tok.children if c.dep_ == "poss" and c.lower_ in FIRST_PERSON]
    if owner and tok.pos_ == "NOUN":
        who = f"{s.speaker}'s {tok.lemma_.lower()}"
        if tok.lemma_.lower() in KIN_WORDS:  # "My sister lives in Oslo. She ...": she is the sister
            context.last_person[s.speaker] = who
        return who
    return None


def _antecedent(pron: Any) -> Any | None:
    """What "it", "them", "this" or "that" stands for: the nearest thing named before it in the statement (a
    noun or gerund in a subject or object position; not a person, a time or a kin noun), or None ("I hate it
    when it rains")."""
    if pron.lower_ not in ("it", "them", "this", "that"):
        return None
    for t in reversed(pron.doc[: pron.i]):
        if (
            (t.pos_ in ("NOUN", "PROPN") or t.tag_ == "VBG")
            and t.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj", "pcomp", "attr", "appos", "conj")
            and t.lower_ not in TIME_WORDS
            and t.lemma_.lower() not in KIN_WORDS
            and t.ent_type_ != "PERSON"
        ):
            return t
    return None


# -- pass 1: possessed nouns ----------------------------------------------------------------------------------


def _possessed(s: _Sentence, sent: Any, context: _Context) -> None:
    for tok in sent:
        modifier = tok.dep_ in ("amod", "compound") and tok.head.pos_ == "PROPN"  # "my parrot Biscuit"
        nominal = tok.dep_ in (
            "dobj",
            "nsubj",
            "nsubjpass",
            "attr",
            "pobj",
            "appos",
        )  # "a terrier" read as JJR
        if tok.pos_ not in ("NOUN", "PROPN") and not modifier and not nominal:
            continue
        lemma = tok.lemma_.lower()
        if lemma not in KIN_WORDS and lemma not in PET_NOUNS and tok.pos_ not in ("NOUN", "PROPN"):
            lemma = (
                tok.lower_
            )  # a noun mis-tagged as an adjective gets an adjective's lemma ("terrier" -> "terri")
        kin = KIN_WORDS.get(lemma)
        pet = lemma in PET_NOUNS
        if not kin and not pet:
            continue
        owner = _owner(s, tok, context)
        name = _name_of(tok)
        if owner is None:
            continue
        clause = tok.head
        while clause.dep_ not in ("ROOT", "conj", "ccomp", "advcl") and clause.head is not clause:
            clause = clause.head
        closing = _negated(clause) or (pet and _dies(clause))
        clause = clause.sent
        for extra in _more_names(tok):
            if kin:
                s.add(owner, kin, extra, clause=clause)
                s.add(extra, "is_a", "person", clause=clause)
            else:
                s.add(owner, "has_pet", extra, clause=clause)
        if name is not None:
            s.names[tok.i] = name
            if kin:
                s.add(owner, kin, name, clause=clause, closes=closing)
                s.add(name, "is_a", "person", clause=clause)
                context.last_person[s.speaker] = name
            else:
                s.add(owner, "has_pet", name, clause=clause, closes=closing)
                s.add(name, "is_a", lemma, clause=clause)
        elif pet and _owned(tok):
            s.add(owner, "has_pet", lemma, clause=clause, closes=closing)


def _owner(s: _Sentence, tok: Any, context: _Context) -> str | None:
    """Whose kin or pet a noun is: "my sister" (poss), "I have a sister" (object of have), "Greta's husband"."""
    named = tok.dep_ in ("amod", "compound") and tok.head.pos_ == "PROPN"
    for c in [*tok.children, *(tok.head.children if named else ())]:
        if c.dep_ == "poss":
            if c.lower_ in FIRST_PERSON:
                return s.speaker
            if c.pos_ == "PROPN":
                return str(_entity_text(c) or c.text)
            if c.lower_ in THIRD_PERSON:
                return context.last_person.get(s.speaker)
    target = tok.head if named else tok  # "adopted a parrot called Oscar": Oscar is the object
    if target.dep_ in ("dobj", "attr") and target.head.lemma_ in OWN:
        subj = _subject_token(target.head)
        if subj is not None and subj.lower_ in FIRST_PERSON:
            return s.speaker
    root = tok.sent.root  # a garbled parse of "I have a dog named X": the clause's verb and subject decide
    if root.lemma_ in OWN and root.i < tok.i and _surface_name(tok) is not None:
        subj = _subject_token(root)
        if subj is not None and subj.lower_ in FIRST_PERSON:
            return s.speaker
    return None


def _surface_name(tok: Any) -> str | None:
    """ "a parrot called Biscuit" read from the words alone (the small parser often garbles it)."""
    doc = tok.doc
    if (
        tok.i + 2 < len(doc)
        and doc[tok.i + 1].lower_ in ("named", "called")
        and doc[tok.i + 2].text[:1].isupper()
    ):
        return str(_entity_text(doc[tok.i + 2]) or doc[tok.i + 2].text)
    after = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
    if (
        after is not None
        and after.pos_ == "PROPN"
        and after.text[:1].isupper()
        and any(c.dep_ == "poss" for c in tok.children)
        and (tok.lemma_.lower() in KIN_WORDS or tok.lemma_.lower() in PET_NOUNS)
    ):
        return str(_entity_text(after) or after.text)  # "my best friend Sam", parsed as two subjects
    i = tok.i  # "Horst, my uncle, lives in Kiel": an apposition the parser took for an adverb
    if (
        i >= 3
        and doc[i - 1].lower_ in ("my", "our")
        and doc[i - 2].text == ","
        and _name_like(doc[i - 3])
        and (i + 1 >= len(doc) or doc[i + 1].is_punct)
    ):
        return str(doc[i - 3].text)
    return None


def _owned(tok: Any) -> bool:
    """Whether a pet noun is owned in its clause ("I have a cat", "my cat", "we adopted a puppy")."""
    return (tok.dep_ in ("dobj", "attr") and tok.head.lemma_ in OWN) or any(
        c.dep_ == "poss" for c in tok.children
    )


def _named_later(tok: Any) -> str | None:
    """ "I got a dog and named it Tofu": the name given to ``it`` (him, her) after a pet or kin noun."""
    for verb in tok.sent:
        if verb.i <= tok.i or verb.lemma_ not in ("name", "call"):
            continue
        pronouns = [c for c in verb.children if c.dep_ == "dobj" and c.lower_ in ("it", "him", "her")]
        if not pronouns:
            continue
        for c in verb.children:
            if c.dep_ in ("oprd", "attr", "npadvmod", "xcomp", "ccomp", "dobj") and _name_like(c):
                return str(_entity_text(c) or c.text)
        after = tok.doc[pronouns[0].i + 1] if pronouns[0].i + 1 < len(tok.doc) else None
        if after is not None and _name_like(after):
            return str(after.text)
    return None


def _more_names(tok: Any) -> list[str]:
    """Names coordinated with a kin noun's first name: "two kids, Leo and Mia" -> ["Mia"]."""
    return [
        str(_entity_text(c) or c.text)
        for a in tok.children
        if a.dep_ == "appos" and a.pos_ == "PROPN"
        for c in a.conjuncts
        if c.pos_ == "PROPN"
    ]


def _dies(clause: Any) -> bool:
    """Whether a clause (or the verb chain it heads: "had to be put down") says its subject died: died,
    perished, was lost, passed (away, on), was put down or put to sleep."""
    verb = clause
    for _ in range(4):
        lemma = verb.lemma_.lower()
        if lemma in ("die", "perish", "lose") or (lemma == "pass" and not _children(verb, "dobj")):
            return True
        if lemma == "put" and ("down" in _particles(verb) or any(t.lower_ == "sleep" for t in verb.subtree)):
            return True
        nxt = _children(verb, "xcomp", "ccomp")
        if not nxt:
            return False
        verb = nxt[0]
    return False


def _name_like(tok: Any) -> bool:
    """Whether a token can be a name: a proper noun, or a capitalised word the small tagger took for another
    part of speech ("Juniper", "Pickle") that is not a pronoun or a stop word."""
    if tok.pos_ == "PROPN":
        return True
    return (
        tok.text[:1].isupper()
        and tok.pos_ in ("NOUN", "ADJ", "VERB", "X", "ADV", "INTJ")
        and tok.lower_ not in FIRST_PERSON | THIRD_PERSON
        and not tok.is_stop
        and not _children(tok, "det", "poss")
    )


def _name_of(tok: Any) -> str | None:
    """The name a kin or pet noun is given: appositive either way ("my aunt, Ines", "Ines, my aunt", "Meet
    Ines, my aunt"), "named X"/"called X", "whose name is X", "X is my sister", "my sister's name is X",
    "named it X", or a compound "sister Greta"."""
    for c in tok.children:
        if c.dep_ == "appos" and _name_like(c):
            return str(_entity_text(c) or c.text)  # further names ("Leo and Mia"): see _more_names
        if c.dep_ == "acl" and c.lemma_ in ("name", "call"):
            for g in c.children:
                if g.dep_ in ("oprd", "dobj", "attr", "npadvmod", "xcomp") and _name_like(g):
                    return str(_entity_text(g) or g.text)
        if c.dep_ == "relcl":  # "a spaniel whose name is Pretzel"
            for subj in _children(c, "nsubj"):
                if subj.lemma_ == "name" and any(g.lower_ == "whose" for g in subj.children):
                    for g in _children(c, "attr", "acomp", "oprd"):
                        if _name_like(g):
                            return str(_entity_text(g) or g.text)
    if tok.dep_ == "appos" and _name_like(tok.head) and tok.head.lower_ not in FIRST_PERSON:
        return str(_entity_text(tok.head) or tok.head.text)  # "Marit, my mum, ..."
    later = _named_later(tok)
    if later is not None:
        return later
    surface = _surface_name(tok)
    if surface is not None:
        return surface
    if tok.dep_ in ("nsubjpass", "nsubj") and tok.head.lemma_ in ("call", "name"):  # "my wife is called Anna"
        for g in tok.head.children:
            if g.dep_ in ("oprd", "attr", "npadvmod", "dobj") and g.pos_ == "PROPN":
                return str(_entity_text(g) or g.text)
    if tok.dep_ in ("compound", "amod") and tok.head.pos_ == "PROPN":
        return str(_entity_text(tok.head) or tok.head.text)
    if tok.dep_ == "attr" and tok.head.lemma_ == "be":  # "Juniper is my dog"
        subj = _subject_token(tok.head)
        if subj is not None and (_name_like(subj) or subj.ent_type_ == "PERSON"):
            return str(_entity_text(subj) or subj.text)
    if tok.dep_ == "poss" and tok.head.lemma_ == "name" and tok.head.dep_ == "nsubj":
        attrs = _children(tok.head.head, "attr", "oprd", "acomp")
        if attrs and attrs[0].pos_ in ("PROPN", "NOUN"):
            return str(_entity_text(attrs[0]) or attrs[0].text)
    return None


# -- pass 2: predicates -------------------------------------------------------------------------------------------


def _chain(verb: Any) -> tuple[Any, bool, bool]:
    """Follow ``xcomp`` through aspect verbs: "started working" -> working; "used to live" -> live (past);
    "am going to move" -> move (future). Returns (the content verb, used-to, going-to)."""
    used = going = False
    while True:
        x = _children(verb, "xcomp")
        if not x:
            return verb, used, going
        if verb.lemma_ == "use" and verb.tag_ == "VBD":
            used = True
        elif verb.lemma_ == "go" and verb.tag_ == "VBG" and any(c.lower_ == "to" for c in x[0].children):
            going = True
        elif verb.lemma_ not in ASPECT:
            return verb, used, going
        verb = x[0]


def _clause(s: _Sentence, head: Any, context: _Context) -> None:
    subj_tok = _subject_token(head)
    if _named(s, head, subj_tok):
        return
    if subj_tok is None or head.lower_ in ("thank", "thanks") or _modal(head):
        return
    if _self_attribute(s, head, subj_tok, context):
        return
    subjects = [_resolve(s, t, context) for t in _conjuncts(subj_tok)]
    if subjects == [None] and subj_tok.text[:1].isupper() and head.lemma_ in ("die", "pass"):
        subjects = [
            subj_tok.text
        ]  # "Miso passed away": a name the tagger took for a noun (closes, never adds)
    for subject in dict.fromkeys(subjects):
        if subject is not None:
            _clause_of(s, head, subject)


def _named(s: _Sentence, head: Any, subj: Any | None) -> bool:
    """ "People call me Sam", "Call me Sam", "I go by Sam": the speaker's name."""
    if head.lemma_ in ("call", "name") and any(c.dep_ == "dobj" and c.lower_ == "me" for c in head.children):
        for c in _children(head, "oprd", "attr", "npadvmod", "dobj"):
            if c.pos_ == "PROPN":
                s.add(s.speaker, "name", _entity_text(c) or c.text, clause=head.sent)
                return True
    if head.lemma_ == "go" and subj is not None and subj.lower_ == "i":
        for prep in _children(head, "prep"):
            if prep.lower_ == "by":
                for p in _children(prep, "pobj"):
                    s.add(s.speaker, "name", _entity_text(p) or p.text, clause=head.sent)
                    return True
    return False


def _clause_of(s: _Sentence, head: Any, subject: str) -> None:
    verb, used_to, going = _chain(head)
    negated = _negated(head) or _negated(verb)
    ref = s.statement.timestamp
    clause_text = head.sent.text
    future = going or (temporal.is_future(clause_text, ref) and head.tag_ in ("VBG", "VBP", "VBZ", "MD"))
    valid = temporal.valid_time(clause_text, ref)
    if used_to:  # "I used to live in Berlin": past; with no stated time an empty interval at ``ref``
        valid = (valid[0] if valid[0] is not None else ref, valid[1] if valid[1] is not None else ref)
    if _closing(s, subject, head, verb, valid):
        return
    if negated and verb.lemma_ in ("eat", "drink", "touch") and not _modal(verb):
        for o in _children(verb, "dobj"):  # "I don't eat meat"
            s.add(subject, "avoids", _phrase(o), valid=valid)
        return
    if negated and head.lemma_ == "have" and subject == s.speaker:
        return  # "I don't have a car"
    if (head.lemma_ in PLAN and verb is not head) or (future and not negated):
        if verb is head and head.lemma_ in PLAN:
            objs = _children(head, "xcomp") or _children(head, "dobj")
            if objs:
                s.add(subject, "plans", _phrase(objs[0]), valid=(ref, None))
            return
        s.add(subject, "plans", _phrase(verb), valid=(ref, None))
        return
    for relation, obj, conf in _frames(head, verb):
        if (relation == "likes" and negated) or (
            relation in ("likes", "dislikes") and verb.lemma_ in ("stand", "bear") and negated
        ):
            relation = "dislikes"
        elif negated:
            s.add(subject, relation, obj, valid=valid, closes=True)
            continue
        if relation == "works_as" and subject == s.speaker and _is_person_name(obj):
            relation = "name"
        start, end = valid
        if verb.tag_ == "VBD" and relation in ("lives_in", "works_as", "works_for", "studies", "studies_at"):
            if used_to or end is not None:
                valid = (start if start is not None else 0.0, end if end is not None else ref)
            elif verb.lemma_ in ("live", "work", "study", "be") and not _children(verb, "aux"):
                continue  # "I lived in Rome" (when?): a past state with no time is not a current fact
        s.add(subject, relation, obj, valid=valid, confidence=conf)
        if relation in ("lives_in", "from") and subject == s.speaker:
            pass


def _is_person_name(text: str) -> bool:
    return bool(text) and text[:1].isupper() and " " not in text.strip()


def _frames(head: Any, verb: Any) -> Iterator[tuple[str, str, float]]:
    """The (relation, object, confidence) pairs a clause states (module docstring, pass 2)."""
    lemma = verb.lemma_.lower()
    if verb.lemma_ in ("be", "become") or (head.lemma_ in ("be", "become") and verb is head):
        yield from _copula(verb)
        return
    if (lemma == "stand" and _negated(verb)) or (lemma == "bear" and _negated(verb)):
        for o in _children(verb, "dobj", "xcomp"):
            for c in _conjuncts(o):
                yield "dislikes", _phrase(c), 0.8
        return
    found = False
    for role, obj in _complements(verb):
        if obj.pos_ == "PRON":
            obj = _antecedent(obj)  # "X drives me crazy, I detest it"
            if obj is None:
                continue  # "I hate it when it rains": no object to keep
        rel = FRAMES.get((lemma, role))
        if role == "dobj" and lemma in OWN and obj.lemma_.lower() in ("allergy", "allergies"):
            mods = [t for t in obj.lefts if t.dep_ in ("compound", "amod", "nmod")]
            if mods:  # "I've got a sesame allergy"
                found = True
                yield "allergic_to", " ".join(t.text for m in mods for t in m.subtree if t.dep_ != "det"), 0.8
                continue
        if rel is None and role == "dobj" and lemma in OWN:
            rel = _owned_thing(obj)
        if rel is None and obj.pos_ == "NOUN":
            # the object's own prepositional complements: "a job as a pilot at Lufthansa", "a nurse at X";
            # also when the parser hung them on the verb ("have an allergy | to eggs")
            after = [p for p in _children(verb, "prep") if p.i > obj.i]
            for prep in [*_children(obj, "prep"), *after]:
                nested = FRAMES.get((obj.lemma_.lower(), prep.lower_))
                for p in _children(prep, "pobj"):
                    if nested:
                        found = True
                        yield nested, _phrase(p), 0.8
                        if nested == "works_as":
                            yield from _employer(p)
            continue
        if rel is None:
            continue
        if rel in ("studies_at", "works_for") and role == "dobj" and not _organisation(obj):
            continue
        if rel == "lives_in" and obj.lemma_ in ("here", "there", "house", "home", "apartment", "flat"):
            continue
        if lemma in ("work", "employ") and rel == "works_for" and _is_occupation(obj):
            rel = "works_as"  # "I work in nursing"? no: "work as" handled; "work at a bakery" stays works_for
        found = True
        for c in _conjuncts(obj):
            yield rel, _phrase(c), 0.8
        if rel == "works_as":
            yield from _employer(obj)
    if not found and verb.tag_ in ("VBP", "VBZ") and not _children(verb, "aux"):
        if lemma == "go":
            return
        for role, obj in _complements(verb):
            if obj.lemma_.lower() in KIN_WORDS or obj.lemma_.lower() in PET_NOUNS:
                continue  # pass 1 read it
            if (
                role == "dobj"
                and obj.pos_ in ("NOUN", "PROPN")
                and obj.lower_ not in FIRST_PERSON | THIRD_PERSON
            ):
                yield _open(verb, None), _phrase(obj), 0.5
            elif role not in OPEN_ROLES and role != "xcomp" and (obj.pos_ == "PROPN" or _entity_text(obj)):
                yield _open(verb, role), _phrase(obj), 0.5


def _employer(job: Any) -> Iterator[tuple[str, str, float]]:
    """ "a nurse at the city hospital": the employer hanging off an occupation."""
    for prep in _children(job, "prep"):
        if prep.lower_ in ("at", "for", "with"):
            for p in _children(prep, "pobj"):
                yield "works_for", _phrase(p), 0.7


def _open(verb: Any, prep: str | None) -> str:
    """An open relation: the verb in the third person (``speaks``), with its preposition (``volunteers_at``)."""
    lemma = verb.lemma_.lower()
    third = {"be": "is", "have": "has"}.get(lemma) or lemma + (
        "es" if lemma.endswith(("s", "sh", "ch", "x", "o")) else "s"
    )
    if lemma.endswith("y") and len(lemma) > 2 and lemma[-2] not in "aeiou":
        third = lemma[:-1] + "ies"
    prt = [c.lower_ for c in verb.children if c.dep_ == "prt"]
    return "_".join([third, *prt, *([prep] if prep else [])])


def _complements(verb: Any) -> Iterator[tuple[str, Any]]:
    """(role, token) pairs: ``dobj``/``attr``/``xcomp`` objects and ``prep`` objects keyed by the preposition;
    a particle joins its verb's preposition ("grow up in" -> ("in", ...))."""
    for c in verb.children:
        if c.dep_ in ("dobj", "attr", "oprd"):
            yield ("dobj" if c.dep_ != "attr" else "attr"), c
        elif c.dep_ == "xcomp":  # "love hiking" (tagged a noun or a verb)
            yield "xcomp", c
        elif c.dep_ in ("prep", "agent", "dative"):
            for p in _children(c, "pobj", "pcomp"):
                yield c.lower_, p
                for p2 in p.conjuncts:
                    yield c.lower_, p2


def _owned_thing(obj: Any) -> str | None:
    lemma = obj.lemma_.lower()
    text = _phrase(obj).lower()
    if lemma in PET_NOUNS:
        return None  # pass 1 stored the pet
    if lemma in ("allergy", "allergies"):
        return None  # "an allergy to X": nested frame; "a sesame allergy": _frames
    if CONDITIONS.search(text):
        return "condition"
    return None


def _organisation(tok: Any) -> bool:
    return tok.ent_type_ in ("ORG", "FAC", "GPE") or tok.pos_ == "PROPN" or bool(SCHOOL.search(_phrase(tok)))


def _is_occupation(tok: Any) -> bool:
    lemma = tok.lemma_.lower()
    return lemma in OCCUPATIONS or lemma.endswith(("ist", "eer", "ician", "ographer", "ologist"))


def _copula(be: Any) -> Iterator[tuple[str, str, float]]:
    """Facts stated with "be": occupations, diets, nationalities, likes ("a big fan of jazz"), allergies,
    origin ("from Lyon"), age ("34 years old"), names ("I'm Sam")."""
    for c in be.children:
        if c.dep_ == "attr":
            for a in _conjuncts(c):
                yield from _attribute(a)
        elif c.dep_ == "acomp":
            yield from _adjective(c)
        elif c.dep_ == "prep":
            rel = FRAMES.get(("be", c.lower_))
            for p in _children(c, "pobj", "pcomp"):
                if rel is not None:
                    yield rel, _phrase(p), 0.8
    nums = [
        t
        for t in be.subtree
        if (t.like_num and t.head.lemma_ in ("year", "old")) or (t.dep_ == "attr" and t.like_num)
    ]
    if (nums and any(t.lower_ == "old" for t in be.subtree)) or (nums and nums[0].dep_ == "attr"):
        yield "age", nums[0].text, 0.8


def _attribute(tok: Any) -> Iterator[tuple[str, str, float]]:
    lemma = tok.lemma_.lower()
    if tok.like_num:
        return
    if tok.pos_ == "PROPN" and tok.ent_type_ in ("PERSON", ""):
        yield "name", _entity_text(tok) or tok.text, 0.7
        return
    if tok.i > tok.sent.start and tok.text[:1].isupper() and not tok.ent_type_ and tok.pos_ != "NOUN":
        yield "name", tok.text, 0.6  # "I'm Amara": the tagger often takes an unknown name for an adjective
        return
    if tok.ent_type_ == "NORP":
        yield "nationality", tok.text, 0.8
        return
    if lemma in DIETS:
        yield "diet", lemma, 0.8
        return
    for prep in _children(tok, "prep"):
        rel = FRAMES.get((lemma, prep.lower_))
        if rel is not None:
            for p in _children(prep, "pobj", "pcomp"):
                for c in _conjuncts(p):
                    yield rel, _phrase(c), 0.8
            if rel in ("likes", "studies_at", "studies"):
                return
    if _is_occupation(tok):
        yield "works_as", _phrase(tok), 0.8
        for prep in _children(tok, "prep"):
            if prep.lower_ in ("at", "for", "with") and lemma != "student":
                for p in _children(prep, "pobj"):
                    yield "works_for", _phrase(p), 0.7


def _adjective(tok: Any) -> Iterator[tuple[str, str, float]]:
    lemma = tok.lemma_.lower()
    if lemma in ("intolerant", "diabetic", "asthmatic", "deaf", "blind", "colourblind", "colorblind"):
        what = " ".join(c.text for c in tok.lefts if c.dep_ in ("amod", "npadvmod", "compound"))
        yield "condition", (f"{what} intolerance" if lemma == "intolerant" and what else tok.text), 0.7
        return
    if lemma in DIETS:
        yield "diet", lemma, 0.8
        return
    if tok.ent_type_ == "NORP":
        yield "nationality", tok.text, 0.8
        return
    for prep in _children(tok, "prep"):
        rel = FRAMES.get((lemma, prep.lower_))
        if lemma == "married" and prep.lower_ == "to":
            rel = "partner"
        if rel is None:
            continue
        for p in _children(prep, "pobj", "pcomp"):
            for c in _conjuncts(p):
                yield rel, _phrase(c), 0.8
    for x in _children(tok, "xcomp"):  # "allergic to gluten" misread as an infinitive: "to" + a "verb"
        rel = FRAMES.get((lemma, "to"))
        if rel is not None and any(a.lower_ == "to" for a in x.children) and not _children(x, "dobj"):
            for c in _conjuncts(x):
                yield rel, c.text, 0.7


def _self_attribute(s: _Sentence, head: Any, subj: Any, context: _Context) -> bool:
    """Sentences about an attribute of the speaker: "My name is Sam", "My favourite food is sushi",
    "My job is nursing", "My hometown is Lyon", "My birthday is on May 3"."""
    owner = [c for c in subj.children if c.dep_ == "poss" and c.lower_ in FIRST_PERSON]
    if head.lemma_ == "be" and not owner:
        for attr in _children(head, "attr"):  # "Pizza is my favourite food"
            mine = any(c.dep_ == "poss" and c.lower_ in FIRST_PERSON for c in attr.children)
            if mine and any(c.lower_ in ("favorite", "favourite") for c in attr.children):
                s.add(s.speaker, "likes", _phrase(subj), clause=head.sent, closes=_negated(head))
                return True
    if not owner or head.lemma_ != "be":
        return False
    values = _children(head, "attr", "acomp", "oprd")
    preps = [p for c in _children(head, "prep") for p in _children(c, "pobj")]
    lemma = subj.lemma_.lower()
    favourite = any(c.lower_ in ("favorite", "favourite") for c in subj.children)
    relation = {
        "name": "name",
        "job": "works_as",
        "profession": "works_as",
        "occupation": "works_as",
        "hometown": "from",
        "home": "lives_in",
        "birthday": "birthday",
        "age": "age",
        "diet": "diet",
        "employer": "works_for",
        "hobby": "likes",
        "passion": "likes",
    }.get(lemma)
    if favourite:
        relation = "likes"
    if relation is None:
        return False
    negated = _negated(head)
    for v in values or preps:
        for c in _conjuncts(v):
            if relation == "birthday":  # the date is the value, not the fact's valid time
                s.add(
                    s.speaker,
                    relation,
                    " ".join(t.text for t in v.subtree),
                    valid=(None, None),
                    closes=negated,
                )
                continue
            s.add(s.speaker, relation, _phrase(c), clause=head.sent, closes=negated)
    return True


# -- pass 4: relations matched by the embedder ----------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A possible object of a sentence the lexicon did not read: its words, its kind ("proper": a capitalised
    name, "noun", "verb": an infinitive phrase), its head token and the sentence with it replaced by ``X``."""

    text: str
    kind: str
    head: Any
    pattern: str


def _unread(s: _Sentence, sent: Any) -> bool:
    """Whether the matcher should read a sentence: it is about the speaker (a first-person word), states no
    hypothesis or condition, and the lexicon found no canonical relation in it (open relations do not count)."""
    if any(known_relation(t.relation) is not None for t in s.out):
        return False
    if not any(t.lower_ in FIRST_PERSON for t in sent):
        return False
    if any(c.dep_ in ("nsubj", "nsubjpass") and c.lower_ == "you" for c in sent.root.children):
        return False  # "You're an inspiration to us": about the listener
    return not any(
        (t.dep_ == "aux" and t.lower_ in HYPOTHETICAL) or (t.dep_ == "mark" and t.lower_ in ("if", "unless"))
        for t in sent
    )


def _candidates(sent: Any) -> list[_Candidate]:
    """The sentence's possible objects: named entities, noun phrases (the modifiers of "an X allergy"),
    infinitive phrases ("to visit Japan") and gerunds; pronouns, times, kin and pet nouns left out."""
    found: dict[tuple[int, int], tuple[str, Any]] = {}
    for ent in sent.ents:
        if ent.label_ not in ("DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY"):
            found[(ent.start, ent.end)] = ("proper", ent.root)
    for chunk in sent.doc.noun_chunks:
        if not (sent.start <= chunk.start and chunk.end <= sent.end):
            continue
        root = chunk.root
        lemma = root.lemma_.lower()
        if root.pos_ == "PRON" or lemma in TIME_WORDS or lemma in KIN_WORDS or lemma in PET_NOUNS:
            continue
        words = [t for t in chunk if t.dep_ not in ("det", "poss", "predet") and t.lower_ not in FIRST_PERSON]
        if not words or _is_time(root):
            continue
        if lemma in (
            "allergy",
            "intolerance",
            "allergies",
        ):  # "a sesame allergy": the modifiers are the object
            words = [t for t in words if t.i < root.i and t.dep_ in ("compound", "amod", "nmod")]
            if not words:
                continue
        start, end = words[0].i, words[-1].i + 1
        proper = all(t.text[:1].isupper() for t in words) and (start > sent.start or root.pos_ == "PROPN")
        found.setdefault((start, end), ("proper" if proper else "noun", root))
    for tok in sent:
        if tok.pos_ == "VERB" and any(c.dep_ == "aux" and c.tag_ == "TO" for c in tok.children):
            phrase: list[Any] = []  # the verb and what follows it, up to a time or a gap
            for t in sorted((t for t in tok.subtree if t.i >= tok.i), key=lambda t: t.i):
                if (
                    _is_time(t)
                    or t.dep_ == "punct"
                    or t.lower_ in TIME_WORDS
                    or (phrase and t.i != phrase[-1].i + 1)
                ):
                    break
                phrase.append(t)
            if phrase:
                found[(tok.i, phrase[-1].i + 1)] = ("verb", tok)
        elif tok.tag_ == "VBG" and tok.dep_ in ("nsubj", "csubj", "dobj", "pobj", "pcomp", "attr", "xcomp"):
            gerund = [t for t in tok.subtree if t.dep_ != "punct" and not _is_time(t)]
            found.setdefault((gerund[0].i, gerund[-1].i + 1), ("noun", tok))
    out = []
    for (start, end), (kind, head) in found.items():
        if any(t.lower_ in ("your", "yours") for t in sent.doc[start:end]) or any(
            c.dep_ == "poss" and c.lower_ == "your" for c in head.children
        ):
            continue  # "I appreciate your help": the listener's, not a taste of the speaker's
        if head.head.lemma_ in ASPECT and head.dep_ in ("xcomp", "dobj"):
            continue  # "I'll keep going": an aspect of a verb, not a thing
        text = _strip(" ".join(_cased(t) for t in sent.doc[start:end]))
        if text:
            out.append(_Candidate(text, kind, head, _pattern(sent, start, end)))
    return out


def _pattern(sent: Any, start: int, end: int) -> str:
    """The sentence with tokens ``start:end`` replaced by ``X``, its time expressions and negations left out
    ("Last week I moved to X" -> "I moved to X"): what the matcher compares with the relations' phrasings."""
    words = []
    for t in sent:
        if t.i == start:
            words.append("X")
        elif (
            start < t.i < end
            or _is_time(t)
            or (t.lower_ in TIME_WORDS and t.dep_ in ("advmod", "npadvmod"))
            or t.dep_ == "neg"
            or t.lower_ in ("anymore", "longer")
        ):
            continue  # negation too: the relation is matched, the polarity read from the words (_dislike)
        else:
            words.append(t.text)
    text = re.sub(r" ([.,;!?]|['\u2019]\w+)", r"\1", " ".join(words)).strip()
    return text[:1].upper() + text[1:]


def _dislike(sent: Any) -> bool:
    """A statement of taste is negative when it has a negative word ("annoys") or a negation ("not a fan",
    "no patience", "doesn't appeal"), not both."""
    negative = any(t.lower_ in NEGATIVE or t.lemma_.lower() in NEGATIVE for t in sent)
    negated = any(t.dep_ == "neg" or t.lower_ in ("no", "never", "anymore", "longer") for t in sent)
    return negative != negated


def _matched(s: _Sentence, sent: Any, scored: list[tuple[_Candidate, Match | None]]) -> None:
    """Add the best matched relation of a sentence whose object fits it (module :mod:`memory.semantic.relations`);
    the sentence's open relations give way to it."""
    best: tuple[float, str, _Candidate] | None = None
    for cand, match in scored:
        if match is None:
            continue
        rel = _fit(match.relation, cand, sent)
        if rel is not None and (best is None or match.margin > best[0]):
            best = (match.margin, rel, cand)
    if best is None:
        return
    _, rel, cand = best
    if rel not in ("likes", "dislikes", "allergic_to") and any(t.dep_ == "neg" for t in sent):
        return  # "I don't live in X": the lexicon closes what it knows; a matched relation is not denied
    s.out = [t for t in s.out if known_relation(t.relation) is not None]
    ref = s.statement.timestamp
    if rel == "plans":
        s.add(s.speaker, rel, cand.text, valid=(ref, None), confidence=0.6)
    else:
        s.add(s.speaker, rel, cand.text, clause=sent, confidence=0.6)


def _fit(rel: str, cand: _Candidate, sent: Any) -> str | None:
    """The relation a matched candidate states when its object fits (a place, an occupation or organisation,
    a verb phrase for a plan, a name for a name), else None."""
    if rel in ("likes", "dislikes"):
        if cand.kind == "verb" or cand.head.ent_type_ in ("GPE", "PERSON", "ORG"):
            return None
        return "dislikes" if _dislike(sent) else "likes"
    # the small model's entity types of unseen names are unreliable (a brewery as a place, a city as a
    # company): the sentence's meaning chose the relation, the object need only be a name
    if rel in ("lives_in", "from"):
        return rel if cand.kind == "proper" and cand.head.ent_type_ != "NORP" else None
    if rel in ("works_as", "works_for"):
        if cand.kind == "noun" and _is_occupation(cand.head):
            return "works_as"
        return "works_for" if cand.kind == "proper" and cand.head.ent_type_ != "NORP" else None
    if rel == "name":
        return rel if cand.kind == "proper" and len(cand.text.split()) <= 2 else None
    if rel == "allergic_to":
        return rel if cand.kind in ("noun", "proper") else None
    if rel == "plans":
        return rel if cand.kind == "verb" else None
    return None


# -- closing statements ---------------------------------------------------------------------------------------


def _particles(verb: Any) -> set[str]:
    """A verb's particles ("passed away", "broke up"), also when tagged as adverbs."""
    return {c.lower_ for c in verb.children if c.dep_ == "prt" or (c.dep_ == "advmod" and c.tag_ == "RP")} | {
        c.lower_ for c in verb.children if c.dep_ == "advmod" and c.lower_ in ("away", "up", "out")
    }


def _closing(
    s: _Sentence, subject: str, head: Any, verb: Any, valid: tuple[float | None, float | None]
) -> bool:
    """Close facts a statement ends: quitting or leaving a job, moving out, dying, breaking up, recovering,
    stopping a hobby. Returns whether the clause was a closing statement (nothing else to extract)."""
    lemma = verb.lemma_.lower()
    prt = _particles(verb)
    objs = _children(verb, "dobj")
    preps = {c.lower_: _children(c, "pobj") for c in _children(verb, "prep")}
    for c in _children(verb, "prep"):  # "moved out of Berlin": "of" hangs off "out"
        if c.lower_ in ("out", "away"):
            prt.add(c.lower_)
            for inner in _children(c, "prep"):
                preps.setdefault(inner.lower_, []).extend(_children(inner, "pobj"))
    when = (valid[0], None)
    if lemma in ("quit", "leave", "lose", "resign", "retire") and (
        (not objs and lemma in ("resign", "retire")) or any(o.lemma_ in JOB_NOUNS for o in objs)
    ):
        s.add(subject, "works_as", "", valid=when, closes=True)
        s.add(subject, "works_for", "", valid=when, closes=True)
        return True
    if lemma in ("quit", "leave") and objs and _organisation(objs[0]) and objs[0].ent_type_ == "ORG":
        s.add(subject, "works_for", _phrase(objs[0]), valid=when, closes=True)
        return not _children(verb, "conj")
    if lemma == "move" and ("out" in prt or "away" in prt) and (preps.get("of") or preps.get("from")):
        for p in preps.get("of", []) + preps.get("from", []):
            s.add(subject, "lives_in", _phrase(p), valid=when, closes=True)
        return True
    if lemma in ("die", "pass") and (lemma == "die" or "away" in prt):
        # "Rufus died": the speaker's pet of that name is gone ("my dog Rufus died" is closed by pass 1)
        if subject != s.speaker and not subject.startswith(f"{s.speaker}'s"):
            s.add(s.speaker, "has_pet", subject, valid=when, closes=True)
        return True
    if (lemma in ("break", "split") and ("up" in prt)) or lemma in ("divorce", "separate"):
        partners = preps.get("with", []) + preps.get("from", []) + objs
        s.add(subject, "partner", _phrase(partners[0]) if partners else "", valid=when, closes=True)
        return True
    if lemma in ("recover", "heal") and preps.get("from"):
        s.add(subject, "condition", _phrase(preps["from"][0]), valid=when, closes=True)
        return True
    if head.lemma_ in ("stop", "quit", "give") and verb is not head:
        if lemma in LIKE:  # "I stopped liking X" says what "I don't like X anymore" says: a dislike
            for o in _children(verb, "dobj", "xcomp"):
                s.add(subject, "dislikes", _phrase(o), valid=when)
            return True
        s.add(subject, "likes", _phrase(verb), valid=when, closes=True)
        return True
    return False


__all__ = ["CONDITIONS", "FRAMES", "OCCUPATIONS", "PET_NOUNS", "ParseExtractor"]
