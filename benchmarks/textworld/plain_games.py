"""The plain-English development games: hand-written TextWorld games in our own words.

Each game is built with TextWorld's ``GameMaker`` from a spec below: rooms and their descriptions (which name
the exits and the fixtures, as an author would), doors locked by keys, closed containers, supporters, and two
or three goal objects (one point each: "X in/on Y"); the objective is our own sentence, not TextWorld's quest
grammar. The walkthrough of each game is replayed after the build and must win, so a broken spec fails loudly.

    .venv/bin/python benchmarks/textworld/plain_games.py OUT_DIR

writes ``OUT_DIR/<name>.z8`` (+ ``.json``, TextWorld's own) and ``OUT_DIR/plain_games.json`` (name ->
objective, walkthrough, max score). A game whose spec is unchanged is not rebuilt (spec hash in the index).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


@dataclass(frozen=True)
class Thing:
    """An entity: ``kind`` is TextWorld's type (o object, k key, c container, s supporter, f food);
    ``where`` a room or a container/supporter name; ``state`` for containers (open/closed/locked);
    ``key`` names the key of a locked container."""

    name: str
    kind: str
    where: str
    desc: str = ""
    state: str = ""
    key: str = ""


@dataclass(frozen=True)
class Link:
    """A passage ``a --direction--> b`` (and back), optionally through a door (``door``, locked by ``key``)."""

    a: str
    direction: str
    b: str
    door: str = ""
    state: str = ""
    key: str = ""


@dataclass(frozen=True)
class Spec:
    name: str
    objective: str
    start: str
    rooms: dict[str, str]
    links: list[Link]
    things: list[Thing]
    goals: list[tuple[str, str, str]]  # (object, "in" | "on", holder)
    walkthrough: list[str] = field(default_factory=list)


GAMES = [
    Spec(
        name="lighthouse",
        objective=(
            "The lamp at the top of the lighthouse has run dry. Carry the oil can over to the tower and stand "
            "it on the lamp stand, then file the logbook away in the keeper's desk."
        ),
        start="cottage",
        rooms={
            "cottage": "A low cottage that smells of pipe smoke. A pine table fills the middle of the room and "
            "a biscuit tin sits on a shelf. The front door opens north onto the yard.",
            "yard": "A windswept yard of gravel and thistles. The cottage lies to the south, a tool shed stands "
            "to the east, and the lighthouse tower rises to the north.",
            "shed": "A cramped tool shed. Cobwebs hang over a workbench. The yard is back to the west.",
            "tower": "The round room at the foot of the tower. An iron lamp stand waits by the window and a "
            "keeper's desk leans against the wall. The yard is to the south.",
        },
        links=[
            Link("cottage", "north", "yard"),
            Link("yard", "east", "shed", door="shed door", state="locked", key="brass key"),
            Link("yard", "north", "tower"),
        ],
        things=[
            Thing("pine table", "s", "cottage", "Scrubbed pale by years of use."),
            Thing("biscuit tin", "c", "cottage", "A dented tin with a picture of a ship.", state="closed"),
            Thing("brass key", "k", "biscuit tin", "A small key, green at the edges."),
            Thing("logbook", "o", "pine table", "Pages of weather notes in a tidy hand."),
            Thing("workbench", "s", "shed", "Scarred with saw cuts."),
            Thing("oil can", "o", "workbench", "A long-spouted can, heavy with lamp oil."),
            Thing("lamp stand", "s", "tower", "An iron stand with a ring for a can."),
            Thing("keeper's desk", "c", "tower", "A desk with a deep drawer.", state="closed"),
        ],
        goals=[("oil can", "on", "lamp stand"), ("logbook", "in", "keeper's desk")],
        walkthrough=[
            "open biscuit tin",
            "take brass key from biscuit tin",
            "take logbook from pine table",
            "go north",
            "unlock shed door with brass key",
            "open shed door",
            "go east",
            "take oil can from workbench",
            "go west",
            "go north",
            "put oil can on lamp stand",
            "open keeper's desk",
            "insert logbook into keeper's desk",
        ],
    ),
    Spec(
        name="bakery",
        objective=(
            "Get the bakery ready before the morning rush: the sack of flour belongs in the mixing bowl, and "
            "the jar of honey should go out on the counter for the customers."
        ),
        start="shop",
        rooms={
            "shop": "The front of the bakery, bright and warm. A long counter runs along the window and a cash "
            "drawer is built into it. The bakehouse is through the arch to the west.",
            "bakehouse": "Flour dust covers everything here. A big mixing bowl sits on the floor beside the "
            "ovens, and a pantry cupboard stands in the corner. The shop is east; a hatch in the floor leads "
            "south, down to the cellar.",
            "cellar": "A cool cellar under the bakehouse, lined with shelves of sacks. The way back up is "
            "north.",
        },
        links=[
            Link("shop", "west", "bakehouse"),
            Link("bakehouse", "south", "cellar", door="cellar hatch", state="locked", key="little key"),
        ],
        things=[
            Thing("counter", "s", "shop", "Polished oak, with a brass rail."),
            Thing("cash drawer", "c", "shop", "A shallow wooden drawer.", state="closed"),
            Thing("little key", "k", "cash drawer", "A key no longer than a finger."),
            Thing("mixing bowl", "c", "bakehouse", "A bowl wide enough to bath a dog in.", state="open"),
            Thing("pantry cupboard", "c", "bakehouse", "Tall, painted blue.", state="closed"),
            Thing("jar of honey", "o", "pantry cupboard", "Dark honey from the heath."),
            Thing("sack of flour", "o", "cellar", "Stone-ground, heavy."),
        ],
        goals=[("sack of flour", "in", "mixing bowl"), ("jar of honey", "on", "counter")],
        walkthrough=[
            "open cash drawer",
            "take little key from cash drawer",
            "go west",
            "unlock cellar hatch with little key",
            "open cellar hatch",
            "go south",
            "take sack of flour",
            "go north",
            "insert sack of flour into mixing bowl",
            "open pantry cupboard",
            "take jar of honey from pantry cupboard",
            "go east",
            "put jar of honey on counter",
        ],
    ),
    Spec(
        name="museum",
        objective=(
            "The museum opens at noon and two exhibits are still missing. Place the bronze statue on the "
            "empty plinth in the east gallery, and return the old map to the glass case in the west gallery."
        ),
        start="lobby",
        rooms={
            "lobby": "A marble lobby with an echo. A ticket booth stands by the entrance and an umbrella "
            "stand leans beside it. Galleries open to the east and to the west, and a plain door to the "
            "north says STAFF ONLY.",
            "east gallery": "Paintings of ships line the walls. In the middle of the room stands an empty "
            "plinth. The lobby is back to the west.",
            "west gallery": "A dim room of maps and globes. A glass case stands against the far wall. The "
            "lobby is back to the east.",
            "storeroom": "Crates and dust sheets. A packing crate sits open in the corner. The lobby is south.",
        },
        links=[
            Link("lobby", "east", "east gallery"),
            Link("lobby", "west", "west gallery"),
            Link("lobby", "north", "storeroom", door="staff door", state="locked", key="curator's key"),
        ],
        things=[
            Thing("ticket booth", "c", "lobby", "A booth with a sliding window.", state="closed"),
            Thing("umbrella stand", "c", "lobby", "A brass stand, empty of umbrellas.", state="open"),
            Thing("curator's key", "k", "umbrella stand", "A key on a red ribbon."),
            Thing("plinth", "s", "east gallery", "A white block waiting for its statue."),
            Thing("glass case", "c", "west gallery", "A case with a hinged lid.", state="closed"),
            Thing("packing crate", "c", "storeroom", "Straw spills over its edges.", state="open"),
            Thing("bronze statue", "o", "packing crate", "A small bronze of a running hare."),
            Thing("old map", "o", "ticket booth", "A map of the coast, drawn before the harbour was built."),
        ],
        goals=[("bronze statue", "on", "plinth"), ("old map", "in", "glass case")],
        walkthrough=[
            "take curator's key from umbrella stand",
            "unlock staff door with curator's key",
            "open staff door",
            "go north",
            "take bronze statue from packing crate",
            "go south",
            "go east",
            "put bronze statue on plinth",
            "go west",
            "open ticket booth",
            "take old map from ticket booth",
            "go west",
            "open glass case",
            "insert old map into glass case",
        ],
    ),
    Spec(
        name="ship",
        objective=(
            "A storm is coming. Light the way for the crew by hanging the lantern on the mast hook up on "
            "deck, and stow the ship's log safely inside the captain's chest."
        ),
        start="galley",
        rooms={
            "galley": "The ship's galley, all pots and steam. A spice rack is fixed to the wall. A ladder "
            "leads north to the deck, and a narrow passage runs east to the cabin.",
            "deck": "The open deck, wet with spray. A mast hook is screwed into the main mast. The galley "
            "ladder is south.",
            "cabin": "The captain's cabin, panelled in dark wood. A heavy captain's chest sits at the foot of "
            "the bunk, and a chart table stands under the porthole. The galley is west; a low door leads "
            "south to the hold.",
            "hold": "The dark hold, smelling of tar and rope. Barrels are lashed along the hull. The cabin is "
            "north.",
        },
        links=[
            Link("galley", "north", "deck"),
            Link("galley", "east", "cabin"),
            Link("cabin", "south", "hold", door="hold door", state="locked", key="iron key"),
        ],
        things=[
            Thing("spice rack", "s", "galley", "Jars of pepper and clove."),
            Thing("iron key", "k", "spice rack", "A key black with soot."),
            Thing("mast hook", "s", "deck", "A hook for hanging lights."),
            Thing(
                "captain's chest", "c", "cabin", "Bound with brass corners.", state="locked", key="silver key"
            ),
            Thing("chart table", "s", "cabin", "Covered in pencil marks."),
            Thing("ship's log", "o", "chart table", "The record of every watch."),
            Thing("barrel", "c", "hold", "A barrel of salted pork, lid loose.", state="closed"),
            Thing("lantern", "o", "hold", "A storm lantern, glass intact."),
            Thing("silver key", "k", "barrel", "A bright little key."),
        ],
        goals=[("lantern", "on", "mast hook"), ("ship's log", "in", "captain's chest")],
        walkthrough=[
            "take iron key from spice rack",
            "go east",
            "take ship's log from chart table",
            "unlock hold door with iron key",
            "open hold door",
            "go south",
            "take lantern",
            "open barrel",
            "take silver key from barrel",
            "go north",
            "unlock captain's chest with silver key",
            "open captain's chest",
            "insert ship's log into captain's chest",
            "go west",
            "go north",
            "put lantern on mast hook",
        ],
    ),
    Spec(
        name="farm",
        objective=(
            "Evening chores on the farm: leave the basket of eggs on the kitchen table, hang the pitchfork "
            "back on the tool rack in the barn, and shut the lamb's bottle of milk away in the feed bin."
        ),
        start="farmhouse",
        rooms={
            "farmhouse": "The farmhouse kitchen, warm from the stove. A kitchen table stands in the middle "
            "and a coat peg hangs by the door. The barnyard is out to the east.",
            "barnyard": "Mud and straw. Chickens scatter as you walk. The farmhouse is west, the hen house is "
            "north and the big barn is to the east.",
            "hen house": "A low wooden hen house, full of clucking. A nesting box runs along one wall. The "
            "barnyard is south.",
            "barn": "A tall barn that smells of hay. A tool rack is nailed to one wall and a feed bin stands "
            "by the stalls. The barnyard is back to the west.",
        },
        links=[
            Link("farmhouse", "east", "barnyard"),
            Link("barnyard", "north", "hen house"),
            Link("barnyard", "east", "barn", door="barn door", state="locked", key="barn key"),
        ],
        things=[
            Thing("kitchen table", "s", "farmhouse", "Long enough for the whole family."),
            Thing("coat peg", "s", "farmhouse", "A wooden peg worn smooth."),
            Thing("barn key", "k", "coat peg", "A long key on a loop of string."),
            Thing("bottle of milk", "o", "kitchen table", "Warm milk for the orphan lamb."),
            Thing("nesting box", "c", "hen house", "Straw-lined boxes with a lid.", state="closed"),
            Thing("basket of eggs", "o", "nesting box", "Brown eggs, still warm."),
            Thing("pitchfork", "o", "barnyard", "Left leaning against the fence."),
            Thing("tool rack", "s", "barn", "Pegs for every tool."),
            Thing("feed bin", "c", "barn", "A metal bin with a heavy lid.", state="closed"),
        ],
        goals=[
            ("basket of eggs", "on", "kitchen table"),
            ("pitchfork", "on", "tool rack"),
            ("bottle of milk", "in", "feed bin"),
        ],
        walkthrough=[
            "take barn key from coat peg",
            "take bottle of milk from kitchen table",
            "go east",
            "take pitchfork",
            "unlock barn door with barn key",
            "open barn door",
            "go east",
            "put pitchfork on tool rack",
            "open feed bin",
            "insert bottle of milk into feed bin",
            "go west",
            "go north",
            "open nesting box",
            "take basket of eggs from nesting box",
            "go south",
            "go west",
            "put basket of eggs on kitchen table",
        ],
    ),
]


def spec_hash(spec: Spec) -> str:
    return hashlib.sha256(json.dumps(asdict(spec), sort_keys=True).encode()).hexdigest()[:12]


def build(spec: Spec, out_dir: Path) -> Path:
    """Compile ``spec`` to ``out_dir/<name>.z8`` and check that its walkthrough wins."""
    from textworld import GameMaker
    from textworld.generator.game import Event, Quest

    maker = GameMaker()
    rooms = {name: maker.new_room(name, desc=desc) for name, desc in spec.rooms.items()}
    entities: dict[str, Any] = dict(rooms)
    for link in spec.links:
        a, b = rooms[link.a], rooms[link.b]
        path = maker.connect(getattr(a, link.direction), getattr(b, OPPOSITE[link.direction]))
        if link.door:
            door = maker.new_door(path, name=link.door)
            door.add_property(link.state or "closed")
            entities[link.door] = door
    for thing in spec.things:
        entity = maker.new(type=thing.kind, name=thing.name, desc=thing.desc or None)
        if thing.state:
            entity.add_property(thing.state)
        entities[thing.name] = entity
    for thing in spec.things:
        entities[thing.where].add(entities[thing.name])
    for lock in [*spec.links, *spec.things]:
        if lock.key:
            name = lock.door if isinstance(lock, Link) else lock.name
            maker.add_fact("match", entities[lock.key], entities[name])
    maker.set_player(rooms[spec.start])
    maker.quests = [
        Quest(win_events=[Event(conditions={maker.new_fact(rel, entities[obj], entities[holder])})], reward=1)
        for obj, rel, holder in spec.goals
    ]
    game = maker.build()
    game.objective = spec.objective
    out = out_dir / f"{spec.name}.z8"
    maker.compile(str(out))
    _check_walkthrough(out, spec)
    return out


def _check_walkthrough(game: Path, spec: Spec) -> None:
    import textworld

    env = textworld.start(str(game), request_infos=textworld.EnvInfos(max_score=True, won=True))
    try:
        state = env.reset()
        for command in spec.walkthrough:
            state, _, _done = env.step(command)
        if not state["won"]:
            raise SystemExit(
                f"{spec.name}: the walkthrough does not win ({state['score']}/{state['max_score']})"
            )
    finally:
        env.close()


def build_all(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Build every game of :data:`GAMES` (unchanged ones are kept) and write the index; returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "plain_games.json"
    index: dict[str, dict[str, Any]] = json.loads(index_path.read_text()) if index_path.is_file() else {}
    for spec in GAMES:
        digest = spec_hash(spec)
        game = out_dir / f"{spec.name}.z8"
        if index.get(spec.name, {}).get("hash") != digest or not game.is_file():
            build(spec, out_dir)
        index[spec.name] = {
            "hash": digest,
            "objective": spec.objective,
            "walkthrough": spec.walkthrough,
            "max_score": len(spec.goals),
        }
        index_path.write_text(json.dumps(index, indent=1))
    return index


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: plain_games.py OUT_DIR")
    index = build_all(Path(sys.argv[1]))
    for name, row in index.items():
        print(f"{name:12} walkthrough {len(row['walkthrough']):2d} steps, {row['max_score']} goals")


if __name__ == "__main__":
    main()
