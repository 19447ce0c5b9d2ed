"""Generated personal statements with changes over time, and their ground truth (benchmark M, "facts").

Each simulated user tells the agent about themself over months: a name, home, job, employer, family, a pet,
likes, dislikes, a health constraint, a plan; later some of it changes (a move, a new job, a pet that dies and a
new one, a taste that turns), between small talk that states nothing. Every statement is rendered from one of
two disjoint template sets:

- ``dev``: the wording the extractor was developed against;
- ``heldout``: other words for the same facts (other verbs, word orders, clause shapes and value pools),
  written before any tuning and only measured, never tuned on;
- ``third``: a third wording and value pool, written (session 9) before the held-out failures were read,
  as a fresh check of the generalising changes; also only measured.

Truth is a list of :class:`Truth` facts with validity intervals in simulated time, and the list of changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DAY = 86400.0


@dataclass
class Truth:
    subject: str
    relation: str
    object: str
    valid_from: float
    valid_to: float | None = None


@dataclass
class Change:
    subject: str
    relation: str
    old: str
    new: str | None  # None: closed without a replacement
    t: float


@dataclass
class Story:
    user: str
    lines: list[tuple[float, str]] = field(default_factory=list)
    truth: list[Truth] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


POOLS = {
    "dev": {
        "name": [
            "Marta",
            "Jonas",
            "Priya",
            "Kenji",
            "Lucia",
            "Tomasz",
            "Amara",
            "Felix",
            "Ingrid",
            "Omar",
            "Sofia",
            "Ravi",
        ],
        "city": [
            "Lyon",
            "Hamburg",
            "Porto",
            "Madrid",
            "Oslo",
            "Dublin",
            "Vienna",
            "Prague",
            "Seattle",
            "Toronto",
            "Lisbon",
            "Munich",
        ],
        "job": [
            "teacher",
            "nurse",
            "sound engineer",
            "architect",
            "baker",
            "software developer",
            "journalist",
            "pharmacist",
            "electrician",
            "photographer",
        ],
        "company": ["Siemens", "Airbus", "Spotify", "Nestle", "Philips", "Ikea", "Unilever", "Bosch"],
        "kin": ["sister", "brother", "mother", "father", "cousin", "daughter", "son", "wife", "husband"],
        "person": [
            "Greta",
            "Tomas",
            "Elena",
            "Marco",
            "Hanna",
            "Luis",
            "Nadia",
            "Peter",
            "Clara",
            "Stefan",
            "Yuki",
            "Anton",
        ],
        "pet": ["dog", "cat", "parrot", "rabbit", "beagle", "kitten", "hamster"],
        "petname": ["Rufus", "Miso", "Pepper", "Biscuit", "Luna", "Oscar", "Ziggy", "Mochi"],
        "like": [
            "jazz",
            "hiking",
            "sushi",
            "chess",
            "gardening",
            "football",
            "painting",
            "cycling",
            "opera",
            "yoga",
        ],
        "dislike": ["mushrooms", "horror movies", "country music", "olives", "crowds", "cold weather"],
        "allergy": ["peanuts", "cats", "pollen", "shellfish", "penicillin", "gluten"],
        "plan": ["visit Japan", "learn Spanish", "run a marathon", "buy a house", "write a novel"],
    },
    "heldout": {
        "name": [
            "Beatriz",
            "Henrik",
            "Aisha",
            "Dmitri",
            "Noemi",
            "Callum",
            "Leilani",
            "Viktor",
            "Rosa",
            "Tariq",
        ],
        "city": [
            "Valencia",
            "Gothenburg",
            "Krakow",
            "Edinburgh",
            "Bologna",
            "Antwerp",
            "Zurich",
            "Montreal",
            "Seville",
            "Tallinn",
        ],
        "job": [
            "dentist",
            "carpenter",
            "librarian",
            "pilot",
            "chef",
            "accountant",
            "veterinarian",
            "translator",
            "plumber",
        ],
        "company": ["Volvo", "Lufthansa", "Heineken", "Adidas", "Ericsson", "Roche", "Danone"],
        "kin": [
            "sister",
            "brother",
            "mom",
            "dad",
            "aunt",
            "uncle",
            "son",
            "daughter",
            "girlfriend",
            "boyfriend",
        ],
        "person": ["Ines", "Bruno", "Freya", "Matteo", "Olga", "Rafael", "Sanne", "Jakob", "Mei", "Dario"],
        "pet": ["dog", "cat", "tortoise", "puppy", "goldfish", "labrador", "ferret"],
        "petname": ["Noodle", "Pixel", "Juniper", "Bruno", "Tofu", "Waffles", "Ziggy"],
        "like": [
            "salsa dancing",
            "board games",
            "blues",
            "tennis",
            "baking",
            "photography",
            "sailing",
            "knitting",
        ],
        "dislike": ["spicy food", "reality shows", "traffic", "mornings", "pineapple", "rap music"],
        "allergy": ["bee stings", "dust", "latex", "eggs", "walnuts"],
        "plan": ["climb Kilimanjaro", "study piano", "open a bakery", "visit Iceland", "move abroad"],
    },
    "third": {
        "name": ["Ottilie", "Bashir", "Yara", "Emil", "Chiara", "Desmond", "Ngozi", "Lars", "Paloma", "Kofi"],
        "city": [
            "Bergen",
            "Ljubljana",
            "Cork",
            "Marseille",
            "Bilbao",
            "Utrecht",
            "Graz",
            "Leipzig",
            "Turin",
            "Aarhus",
        ],
        "job": [
            "firefighter",
            "paramedic",
            "optician",
            "welder",
            "florist",
            "economist",
            "physiotherapist",
            "data analyst",
            "tour guide",
        ],
        "company": ["Nokia", "Renault", "Lego", "Maersk", "Carlsberg", "Novartis", "Michelin"],
        "kin": ["grandmother", "niece", "nephew", "cousin", "wife", "husband", "brother", "mum"],
        "person": ["Lotte", "Ivo", "Sunita", "Joaquin", "Marit", "Kwame", "Elif", "Soren", "Ada", "Teodor"],
        "pet": ["kitten", "rabbit", "budgie", "gecko", "spaniel", "terrier", "hamster"],
        "petname": ["Pickle", "Mango", "Sprout", "Nimbus", "Pretzel", "Olive", "Comet"],
        "like": [
            "pottery",
            "surfing",
            "crossword puzzles",
            "birdwatching",
            "running",
            "science fiction",
            "bouldering",
            "camping",
        ],
        "dislike": ["loud music", "cilantro", "public speaking", "humid weather", "long meetings", "jazz"],
        "allergy": ["strawberries", "mold", "ibuprofen", "sesame", "wasp stings"],
        "plan": [
            "learn to sail",
            "visit Patagonia",
            "start a podcast",
            "write a cookbook",
            "renovate the attic",
        ],
    },
}

# {x}: the value; {k}: a kin word; {p}: a person's or pet's name; {a}: "a"/"an" for the value
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "dev": {
        "name": ["My name is {x}.", "I'm {x}, nice to meet you.", "Call me {x}."],
        "lives_in": ["I live in {x}.", "I live in {x} these days.", "Right now I'm living in {x}."],
        "move": ["I moved to {x} {when}.", "{When} I moved to {x}.", "I relocated to {x} {when}."],
        "works_as": ["I work as {a} {x}.", "I'm {a} {x}.", "I am working as {a} {x}."],
        "new_job": [
            "I quit my job and now I work as {a} {x}.",
            "I started a new job as {a} {x} {when}.",
            "I'm now working as {a} {x}.",
        ],
        "works_for": ["I work at {x}.", "I'm employed by {x}.", "I work for {x}."],
        "family": ["My {k} {p} lives in {c}.", "I have a {k} named {p}.", "My {k}'s name is {p}."],
        "pet": ["I have a {k} named {p}.", "We adopted a {k} called {p}.", "My {k} {p} is adorable."],
        "pet_died": ["Sadly my {k} {p} died {when}.", "{p} passed away {when}."],
        "likes": ["I love {x}.", "I really enjoy {x}.", "I'm a big fan of {x}."],
        "dislikes": ["I hate {x}.", "I can't stand {x}.", "I really dislike {x}."],
        "turn": ["I don't like {x} anymore.", "Honestly I hate {x} now."],
        "allergic_to": ["I'm allergic to {x}.", "I am allergic to {x}, unfortunately."],
        "plans": ["I'm planning to {x} next year.", "I plan to {x}."],
        "filler": [
            "The weather is lovely today.",
            "What do you think about that?",
            "Haha, that's funny.",
            "Can you recommend a good book?",
            "I went to the cinema yesterday and the film was long.",
            "Thanks for the chat!",
            "It was a busy day.",
        ],
    },
    "heldout": {
        "name": ["People call me {x}.", "Hi, {x} here.", "I go by {x}."],
        "lives_in": ["Home for me is {x}.", "I'm based in {x}.", "I reside in {x} at the moment."],
        "move": [
            "{When} we packed everything up and relocated to {x}.",
            "I've been living in {x} since {since}.",
            "As of {when} my address is in {x}.",
        ],
        "works_as": ["By profession I'm {a} {x}.", "My job is {x}.", "I make a living as {a} {x}."],
        "new_job": [
            "I left my old job; these days I'm {a} {x}.",
            "{When} I became {a} {x}.",
            "I switched careers and I'm {a} {x} now.",
        ],
        "works_for": ["My employer is {x}.", "I have a job at {x}.", "I've been with {x} for a few years."],
        "family": ["{p} is my {k}.", "My {k}, {p}, is visiting.", "I've got a {k} called {p}."],
        "pet": ["{p} is my {k}.", "Our {k}, {p}, sleeps all day.", "I got a {k} and named it {p}."],
        "pet_died": ["We lost our {k} {p} {when}.", "My poor {k} {p} died {when}."],
        "likes": ["{X} is my favourite thing.", "I'm really into {x}.", "Nothing beats {x} for me."],
        "dislikes": ["I can't bear {x}.", "{X} drives me crazy, I detest it.", "I'm not a fan of {x}."],
        "turn": ["These days I find {x} boring and I dislike it.", "I no longer enjoy {x}."],
        "allergic_to": ["I have an allergy to {x}.", "{X} gives me an allergic reaction."],
        "plans": ["Next summer I'm going to {x}.", "I intend to {x} someday."],
        "filler": [
            "Did you see the game last night?",
            "Tell me a joke.",
            "Ugh, Mondays.",
            "How does a rainbow form?",
            "My coffee got cold while I was reading.",
            "See you later.",
            "That reminds me of something.",
        ],
    },
    "third": {
        "name": ["The name's {x}.", "You can call me {x}.", "{X} is my name.", "Everyone knows me as {x}."],
        "lives_in": [
            "I've made my home in {x}.",
            "My apartment is in {x}.",
            "I'm a resident of {x}.",
            "These days I'm living in {x}.",
        ],
        "move": [
            "We made the move to {x} {when}.",
            "{When} I started a new life in {x}.",
            "I've called {x} home since {since}.",
            "I finally settled down in {x} {when}.",
        ],
        "works_as": [
            "I'm employed as {a} {x}.",
            "For work I'm {a} {x}.",
            "I've been {a} {x} for years.",
            "I earn my living as {a} {x}.",
        ],
        "new_job": [
            "I changed jobs {when} and now I'm {a} {x}.",
            "I got hired as {a} {x} {when}.",
            "{When} I took a position as {a} {x}.",
        ],
        "works_for": [
            "{X} is where I work.",
            "I'm on the staff at {x}.",
            "{X} employs me.",
            "I'm working for {x} at the moment.",
        ],
        "family": [
            "Meet {p}, my {k}.",
            "{p}, my {k}, lives in {c}.",
            "My {k} is called {p}.",
            "There's my {k} {p}, who lives in {c}.",
        ],
        "pet": [
            "I own a {k} called {p}.",
            "{p}, our {k}, loves the garden.",
            "We've got a {k} whose name is {p}.",
            "My {k} is named {p}.",
        ],
        "pet_died": [
            "{p}, my {k}, passed away {when}.",
            "Our {k} {p} had to be put down {when}.",
            "{When} my {k} {p} passed on.",
        ],
        "likes": [
            "I'm passionate about {x}.",
            "{X} is something I really love.",
            "I adore {x}.",
            "I'm quite keen on {x}.",
        ],
        "dislikes": [
            "I loathe {x}.",
            "{X} is the worst.",
            "I have no patience for {x}.",
            "{X} really annoys me.",
        ],
        "turn": [
            "I've lost interest in {x} and dislike it now.",
            "{X} doesn't appeal to me anymore.",
            "I've stopped liking {x}.",
        ],
        "allergic_to": [
            "I've got a {x} allergy.",
            "Doctors told me I'm allergic to {x}.",
            "I can't have {x} because of an allergy.",
        ],
        "plans": ["My goal is to {x} one day.", "I'm hoping to {x} this year.", "Someday I want to {x}."],
        "filler": [
            "What's the capital of Peru?",
            "I slept badly last night.",
            "Could you summarise that for me?",
            "Lol, good one.",
            "It rained all afternoon.",
            "Goodnight!",
            "I had pasta for lunch.",
        ],
    },
}

WHEN = [("last week", 7), ("two weeks ago", 14), ("a few days ago", 3), ("yesterday", 1)]
GAP_DAYS = 20.0


def _an(x: str) -> str:
    return "an" if x[:1].lower() in "aeiou" else "a"


def _fmt(template: str, **kw: str) -> str:
    x = kw.get("x", "")
    when = kw.get("when", "")
    return template.format(
        x=x,
        X=x[:1].upper() + x[1:],
        a=_an(x),
        k=kw.get("k", ""),
        p=kw.get("p", ""),
        c=kw.get("c", ""),
        when=when,
        When=when[:1].upper() + when[1:],
        since=kw.get("since", ""),
    )


def generate(wording: str, users: int, seed: int = 0, start: float = 1_700_000_000.0) -> list[Story]:
    """``users`` stories (about 22 statements each, with 4 changes) in the given wording."""
    rng = random.Random(seed)
    pool, tpl = POOLS[wording], TEMPLATES[wording]
    stories = []
    for u in range(users):
        user = f"user{u}"
        st = Story(user)
        t = start + u * 9 * 3600.0  # users interleave; 8 idle hours after each statement fit between them
        name = rng.choice(pool["name"])
        cities = rng.sample(pool["city"], 3)
        jobs = rng.sample(pool["job"], 2)
        company = rng.choice(pool["company"])
        kin = rng.sample(pool["kin"], 2)
        people = rng.sample(pool["person"], 2)
        pets = rng.sample(pool["pet"], 2)
        petnames = rng.sample(pool["petname"], 2)
        likes = rng.sample(pool["like"], 3)
        dislike = rng.choice(pool["dislike"])
        allergy = rng.choice(pool["allergy"])
        plan = rng.choice(pool["plan"])
        events: list[tuple[str, dict[str, str]]] = [
            ("name", {"x": name}),
            ("lives_in", {"x": cities[0]}),
            ("works_as", {"x": jobs[0]}),
            ("works_for", {"x": company}),
            ("family", {"k": kin[0], "p": people[0], "c": cities[2]}),
            ("family", {"k": kin[1], "p": people[1], "c": cities[2]}),
            ("pet", {"k": pets[0], "p": petnames[0]}),
            ("likes", {"x": likes[0]}),
            ("likes", {"x": likes[1]}),
            ("likes", {"x": likes[2]}),
            ("dislikes", {"x": dislike}),
            ("allergic_to", {"x": allergy}),
            ("plans", {"x": plan}),
            ("move", {"x": cities[1]}),
            ("new_job", {"x": jobs[1]}),
            ("turn", {"x": likes[0]}),
            ("pet_died", {"k": pets[0], "p": petnames[0]}),
            ("pet", {"k": pets[1], "p": petnames[1]}),
        ]
        fixed, late = events[:13], events[13:]
        rng.shuffle(fixed)
        fixed.remove(("name", {"x": name}))
        order = [("name", {"x": name}), *fixed]
        late_order = [late[0], late[1], late[2], late[3], late[4]]  # the pet dies before the new one comes
        fillers = rng.sample(tpl["filler"], 4)
        sequence: list[tuple[str, dict[str, str]]] = []
        for kind, kw in [*order, *late_order]:
            sequence.append((kind, kw))
            if rng.random() < 0.25 and fillers:
                sequence.append(("filler", {"x": fillers.pop()}))
        current: dict[tuple[str, str], Truth] = {}
        for kind, kw in sequence:
            t += GAP_DAYS * DAY
            template = rng.choice(tpl[kind])
            phrase, back = rng.choice(WHEN)
            since = "last month"
            if kind == "filler":
                st.lines.append((t, kw["x"]))
                continue
            text = _fmt(template, when=phrase, since=since, **kw)
            st.lines.append((t, text))
            vt = t - back * DAY if "{when}" in template.lower() else t
            if "{since}" in template:
                vt = t - 30 * DAY
            _truth(st, current, kind, kw, user, t, vt)
            if "{c}" in template:  # "My sister Greta lives in Hamburg"
                st.truth.append(Truth(kw["p"], "lives_in", kw["c"], t))
        stories.append(st)
    return stories


def _truth(
    st: Story,
    current: dict[tuple[str, str], Truth],
    kind: str,
    kw: dict[str, str],
    user: str,
    t: float,
    vt: float,
) -> None:
    def add(rel: str, obj: str, valid_from: float) -> None:
        fact = Truth(user, rel, obj, valid_from)
        st.truth.append(fact)
        current[(rel, obj)] = fact

    def close(rel: str, obj: str, new: str | None, at: float) -> None:
        old = current.pop((rel, obj))
        old.valid_to = at
        st.changes.append(Change(user, rel, obj, new, at))

    from memory.semantic.ontology import KIN_WORDS

    if kind in ("name", "lives_in", "works_as", "works_for", "likes", "dislikes", "allergic_to", "plans"):
        add(kind, kw["x"], t)
    elif kind == "move":
        old = next(o for (r, o) in current if r == "lives_in")
        close("lives_in", old, kw["x"], vt)
        add("lives_in", kw["x"], vt)
    elif kind == "new_job":
        old = next(o for (r, o) in current if r == "works_as")
        close("works_as", old, kw["x"], vt)
        add("works_as", kw["x"], vt)
    elif kind == "turn":
        close("likes", kw["x"], kw["x"], t)
        add("dislikes", kw["x"], t)
    elif kind == "family":
        add(KIN_WORDS[kw["k"]], kw["p"], t)
        st.truth.append(Truth(kw["p"], "is_a", "person", t))
    elif kind == "pet":
        add("has_pet", kw["p"], t)
        st.truth.append(Truth(kw["p"], "is_a", kw["k"], t))
    elif kind == "pet_died":
        close("has_pet", kw["p"], None, vt)
