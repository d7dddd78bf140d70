"""Seeded multi-hop tasks for the tool-use suite: one registered generator per family.

A task names entities but never the values behind them, so the tools are
necessary. Each generator writes its canonical call plan by *executing* every
call through the frozen toolbox and quoting only what earlier outputs printed;
the answer is the last output's value. The plan, the answer and the tools can
therefore never disagree. Variants are drawn so that each (family, difficulty)
has hundreds to millions of distinct tasks: few seeds of different splits
collide on the same question.

| family        | d1 | d2 | d3  | hops                                          |
|---------------|----|----|-----|-----------------------------------------------|
| kb_arithmetic | 2  | 3  | 4-5 | search facts (via hometowns at d3), compute   |
| unit_chain    | 2  | 4  | 5   | search or table, combine, convert             |
| table_sum     | 2  | 3  | 4-5 | price / distance lookups, compute             |
| date_math     | 2  | 3  | 4   | search dates, date arithmetic, compute        |
| mixed         | 3  | 4  | 5-6 | people -> their cities -> distances -> ...    |

>>> task = generate_task("table_sum", seed=7, difficulty=1)
>>> task.task_id, len(task.spec["plan"])
('tooluse/table_sum/d1/s7', 2)
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracer1.executors import Toolbox, ToolResult, default_world, format_number
from tracer1.executors.world import WORLD_SEED, City, Company, Person, World
from tracer1.trajectory import Task

SUITE = "tooluse"
DIFFICULTIES = (1, 2, 3)
SPEC_VERSION = 1
Entity = City | Person | Company


@functools.cache
def _toolbox() -> Toolbox:
    # One per process: generation only reads, and the index takes a few ms to build.
    return Toolbox(default_world())


@functools.lru_cache(maxsize=8192)
def _execute(tool: str, args: tuple[tuple[str, Any], ...]) -> ToolResult:
    # The tools are pure functions of their arguments, and tasks share many calls.
    return _toolbox().call(tool, dict(args))


class Plan:
    """Records the canonical calls while executing them (a failing call is a generator bug)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.last: Any = None  # value of the latest call: the task's answer

    def call(self, tool: str, **args: Any) -> Any:
        result = _execute(tool, tuple(sorted(args.items())))
        if not result.ok:
            raise RuntimeError(f"generator bug: {tool}({args}) -> {result.output}")
        self.calls.append({"tool": tool, "args": args})
        self.last = result.value
        return result.value

    def search(self, entity: Entity) -> Any:
        titles = self.call("search", query=entity.name)
        if titles[:1] != [entity.name]:  # the task would be unfair if the fact were buried
            raise RuntimeError(f"generator bug: search {entity.name!r} ranks {titles[:1]} first")
        return titles

    def calc(self, expression: str) -> Any:
        return self.call("calculator", expression=expression)

    def distance(self, a: str, b: str) -> int:
        return self.call("table", name="distances", row=a, column=b)


@dataclass(frozen=True)
class Fact:
    """A numeric attribute an instruction can ask about, and how it reads in English."""

    kind: str  # "city" | "person" | "company"
    field: str
    noun: str
    unit: str  # as `search` prints it: "km2", "cm", ...
    ops: tuple[str, ...]  # the combinations that make sense for this quantity


FACTS = {f.field: f for f in (
    Fact("city", "population", "population", "", ("sum", "difference", "ratio")),
    Fact("city", "area_km2", "area", "km2", ("sum", "difference")),
    Fact("city", "elevation_m", "elevation", "m", ("difference", "average")),
    Fact("city", "founded", "founding year", "", ("difference",)),
    Fact("city", "mean_temp_c", "mean temperature", "C", ("average",)),
    Fact("person", "height_cm", "height", "cm", ("difference", "average")),
    Fact("person", "weight_kg", "weight", "kg", ("difference", "average", "sum")),
    Fact("company", "revenue_musd", "revenue", "million USD", ("sum", "difference", "ratio")),
    Fact("company", "employees", "number of employees", "", ("sum", "difference")),
)}
# field -> units it may be converted to (temperatures only average: offsets make sums wrong)
CONVERSIONS = {
    "height_cm": ("inch", "foot"),
    "weight_kg": ("lb", "g"),
    "elevation_m": ("foot", "yard"),
    "area_km2": ("mile2", "hectare", "acre"),
    "mean_temp_c": ("F", "K"),
}
UNIT_WORDS = {"inch": "inches", "foot": "feet", "yard": "yards", "mile2": "square miles",
              "hectare": "hectares", "acre": "acres", "F": "degrees Fahrenheit", "K": "kelvin",
              "mile": "miles", "m": "metres", "lb": "pounds", "g": "grams"}


def _entities(world: World, kind: str) -> tuple[Entity, ...]:
    return {"city": world.cities, "person": world.people, "company": world.companies}[kind]


def _value(entity: Entity, fact: Fact) -> str:
    """The fact's value exactly as `search` prints it."""
    return format_number(getattr(entity, fact.field))


def _combine(op: str, values: list[str]) -> str:
    """A calculator expression over printed values (largest first for differences/ratios).

    >>> _combine("average", ["3", "4.5"]), _combine("difference", ["3", "4.5"])
    ('(3 + 4.5) / 2', '4.5 - 3')
    """
    if op == "sum":
        return " + ".join(values)
    if op == "average":
        return f"({' + '.join(values)}) / {len(values)}"
    a, b = sorted(values, key=float, reverse=True)[:2]
    return f"{a} - {b}" if op == "difference" else f"round({a} / {b}, 2)"


def _phrase(op: str, fact: Fact, names: list[str]) -> str:
    """English for combining `fact` over `names`; differences/ratios ask largest vs smallest."""
    listed = _join(names)
    return {
        "sum": f"the combined {fact.noun} of {listed}",
        "average": f"the average {fact.noun} of {listed}",
        "difference": f"the difference between the larger and the smaller {fact.noun} of {listed}",
        "ratio": f"the ratio of the larger to the smaller {fact.noun} of {listed}, rounded to 2 "
                 "decimals",
    }[op]


def _unit_hint(fact: Fact) -> str:
    return f" (in {fact.unit})" if fact.unit else ""


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _distinct_hometowns(rng: random.Random, world: World, n: int) -> list[Person]:
    while True:
        people = rng.sample(world.people, n)
        if len({p.hometown for p in people}) == n:
            return people


# ------------------------------------------------------------------ registry

FamilyFn = Callable[[random.Random, int, Plan, World], str]
FAMILIES: dict[str, FamilyFn] = {}


def family(name: str) -> Callable[[FamilyFn], FamilyFn]:
    """Register a generator: (rng, difficulty, plan, world) -> instruction."""

    def deco(fn: FamilyFn) -> FamilyFn:
        FAMILIES[name] = fn
        return fn

    return deco


# ------------------------------------------------------------------ kb_arithmetic


def _years_before(rng: random.Random, plan: Plan, world: World) -> str:
    kind = rng.choice(("city", "person", "company"))
    entity = rng.choice(_entities(world, kind))
    plan.search(entity)
    year = rng.randint(2000, 2030)
    if kind == "city":
        plan.calc(f"{year} - {entity.founded}")
        return f"How many years passed from the founding of {entity.name} until the year {year}?"
    date = entity.born if kind == "person" else entity.founded
    plan.calc(f"{year} - {date[:4]}")
    event = "born" if kind == "person" else "founded"
    return f"How many calendar years before {year} was {entity.name} {event}?"


def _density(rng: random.Random, plan: Plan, world: World) -> str:
    city = rng.choice(world.cities)
    digits = rng.choice((1, 2))
    plan.search(city)
    plan.calc(f"round({city.population} / {city.area_km2}, {digits})")
    return (f"What is the population density of {city.name} in people per km2, rounded to "
            f"{digits} decimal{'s' if digits > 1 else ''}?")


@family("kb_arithmetic")
def kb_arithmetic(rng: random.Random, difficulty: int, plan: Plan, world: World) -> str:
    if difficulty == 1:
        # Only 60 density questions exist: keep them rare so seeds seldom repeat a task.
        return (_density if rng.random() < 0.1 else _years_before)(rng, plan, world)
    if difficulty == 3 and rng.random() < 0.5:
        # Two hops: people -> their hometowns -> the towns' facts.
        fact = FACTS[rng.choice(("population", "area_km2"))]
        people = _distinct_hometowns(rng, world, 2)
        for person in people:
            plan.search(person)
        towns = [world.city(p.hometown) for p in people]
        for town in towns:
            plan.search(town)
        plan.calc(_combine("sum", [_value(t, fact) for t in towns]))
        return (f"What is the combined {fact.noun} of the hometowns of {people[0].name} and "
                f"{people[1].name}{_unit_hint(fact)}?")
    if difficulty == 3:  # three entities: only sums and averages read naturally
        fact = rng.choice([f for f in FACTS.values() if {"sum", "average"} & set(f.ops)])
        op, count = rng.choice([o for o in fact.ops if o in ("sum", "average")]), 3
    else:
        fact = rng.choice(list(FACTS.values()))
        op, count = rng.choice(fact.ops), 2
    chosen = rng.sample(_entities(world, fact.kind), count)
    for entity in chosen:
        plan.search(entity)
    plan.calc(_combine(op, [_value(e, fact) for e in chosen]))
    unit = "" if op == "ratio" else _unit_hint(fact)
    return f"What is {_phrase(op, fact, [e.name for e in chosen])}{unit}?"


# ------------------------------------------------------------------ unit_chain


@family("unit_chain")
def unit_chain(rng: random.Random, difficulty: int, plan: Plan, world: World) -> str:
    if difficulty == 1 and rng.random() < 0.4:
        a, b = (c.name for c in rng.sample(world.cities, 2))
        target = rng.choice(("mile", "m"))
        km = plan.distance(a, b)
        plan.call("convert", value=km, from_unit="km", to_unit=target)
        return f"What is the road distance between {a} and {b}, in {UNIT_WORDS[target]}?"
    fact = FACTS[rng.choice(sorted(CONVERSIONS))]
    target = rng.choice(CONVERSIONS[fact.field])
    count = difficulty if difficulty < 3 else 3
    chosen = rng.sample(_entities(world, fact.kind), count)
    for entity in chosen:
        plan.search(entity)
    values = [_value(e, fact) for e in chosen]
    if count == 1:
        value, what = values[0], f"the {fact.noun} of {chosen[0].name}"
    else:
        ops = [op for op in fact.ops if count == 2 or op in ("sum", "average")] or ["average"]
        op = rng.choice(ops)
        value = format_number(plan.calc(_combine(op, values)))
        what = _phrase(op, fact, [e.name for e in chosen])
    plan.call("convert", value=_number(value), from_unit=fact.unit, to_unit=target)
    return f"What is {what}, expressed in {UNIT_WORDS[target]}?"


# ------------------------------------------------------------------ table_sum


def _shopping(rng: random.Random, n: int, one_store: bool, plan: Plan, world: World) -> str:
    prices = world.tables["prices"]
    items = rng.sample(prices.rows, n)
    stores = [rng.choice(prices.columns)] * n if one_store else rng.sample(prices.columns, n)
    quantities = [rng.randint(2, 9) for _ in items]
    terms = []
    for item, store, qty in zip(items, stores, quantities, strict=True):
        price = plan.call("table", name="prices", row=item, column=store)
        terms.append(f"{format_number(price)} * {qty}")
    plan.calc(" + ".join(terms))
    lines = [f"{q} units of {i} at {s}" for i, s, q in zip(items, stores, quantities, strict=True)]
    return f"How much, in USD, do {_join(lines)} cost in total?"


def _route(rng: random.Random, legs: int, plan: Plan, world: World) -> str:
    route = [c.name for c in rng.sample(world.cities, legs + 1)]
    distances = [plan.distance(a, b) for a, b in zip(route, route[1:], strict=False)]
    plan.calc(" + ".join(format_number(d) for d in distances))
    return f"What is the total road distance, in km, of the trip {' -> '.join(route)}?"


@family("table_sum")
def table_sum(rng: random.Random, difficulty: int, plan: Plan, world: World) -> str:
    shopping = rng.random() < 0.5
    if difficulty == 1 and not shopping:
        a, b = (c.name for c in rng.sample(world.cities, 2))
        trips = rng.randint(2, 5)
        km = plan.distance(a, b)
        plan.calc(f"{km} * 2 * {trips}")
        return (f"A courier drives from {a} to {b} and back again, {trips} times. How many km "
                "does the courier drive in total?")
    if shopping:
        return _shopping(rng, difficulty, one_store=difficulty != 2, plan=plan, world=world)
    return _route(rng, difficulty if difficulty == 2 else rng.choice((3, 4)), plan, world)


# ------------------------------------------------------------------ date_math


@family("date_math")
def date_math(rng: random.Random, difficulty: int, plan: Plan, world: World) -> str:
    entity = rng.choice((*world.people, *world.companies))
    when = f"{entity.name} was {_event_of(entity)}"
    if difficulty == 1 and rng.random() < 0.15:  # few weekday questions exist: keep them rare
        plan.search(entity)
        plan.call("date", op="weekday", date=_date_of(entity))
        return f"On which day of the week was {entity.name} {_event_of(entity)}?"
    if difficulty == 1 or (difficulty == 2 and rng.random() < 0.5):
        days = rng.randint(100, 20000)
        plan.search(entity)
        later = plan.call("date", op="add", date=_date_of(entity), days=days)
        if difficulty == 1:
            return f"What was the date {days} days after {when}?"
        plan.call("date", op="weekday", date=later)
        return f"On which day of the week was it {days} days after {when}?"
    # Two dated entities of any kinds, earlier one first.
    pool = [*world.people, *world.companies]
    first, second = sorted(rng.sample(pool, 2), key=_date_of)
    plan.search(first)
    plan.search(second)
    days = plan.call("date", op="between", date=_date_of(first), other=_date_of(second))
    when = f"{first.name} was {_event_of(first)}"
    if difficulty == 2:
        return f"How many days after {when} was {second.name} {_event_of(second)}?"
    if rng.random() < 0.5:
        plan.calc(f"{days} // 7")
        return f"How many full weeks after {when} was {second.name} {_event_of(second)}?"
    plan.calc(f"{days} * 24")
    return (f"How many hours passed from the day {when} to the day {second.name} was "
            f"{_event_of(second)} (midnight to midnight)?")


def _date_of(entity: Person | Company) -> str:
    return entity.born if isinstance(entity, Person) else entity.founded


def _event_of(entity: Person | Company) -> str:
    return "born" if isinstance(entity, Person) else "founded"


# ------------------------------------------------------------------ mixed


def _two_places(rng: random.Random, plan: Plan, world: World) -> tuple[str, str, str]:
    """Search hops ending at two distinct cities: (from city, to city, the question's words)."""
    while True:
        # Variant 0 has one question per person (~40 in all): keep it rare.
        variant = rng.choices((0, 1, 2), weights=(1, 4, 4))[0]
        person, other = rng.sample(world.people, 2)
        company = world.company(person.employer) if variant == 0 else rng.choice(world.companies)
        a, b = {0: (person.hometown, company.headquarters),
                1: (person.hometown, other.hometown),
                2: (company.headquarters, person.hometown)}[variant]
        if a != b:
            break
    if variant == 0:
        plan.search(person)
        plan.search(company)
        words = (f"the hometown of {person.name} from the headquarters of the company "
                 f"{person.name} works for")
    elif variant == 1:
        plan.search(person)
        plan.search(other)
        words = f"the hometown of {person.name} from the hometown of {other.name}"
    else:
        plan.search(company)
        plan.search(person)
        words = f"the headquarters of {company.name} from the hometown of {person.name}"
    return a, b, words


@family("mixed")
def mixed(rng: random.Random, difficulty: int, plan: Plan, world: World) -> str:
    if difficulty == 3 and rng.random() < 0.5:
        people = _distinct_hometowns(rng, world, 3)
        for person in people:
            plan.search(person)
        a, b, c = (p.hometown for p in people)
        legs = [plan.distance(a, b), plan.distance(b, c)]
        plan.calc(" + ".join(format_number(d) for d in legs))
        return (f"{people[0].name} drives from their hometown to the hometown of "
                f"{people[1].name}, then on to the hometown of {people[2].name}. "
                "How many km is that in total?")
    a, b, words = _two_places(rng, plan, world)
    km = plan.distance(a, b)
    if difficulty == 1:
        return f"How far, in km, is {words}?"
    miles = plan.call("convert", value=km, from_unit="km", to_unit="mile")
    if difficulty == 2:
        return f"How far, in miles, is {words}?"
    speed = rng.choice((40, 45, 50, 55, 60, 65))
    plan.calc(f"round({format_number(miles)} / {speed}, 2)")
    return (f"How many hours does it take to drive the distance in miles between {words} at "
            f"{speed} mph, rounded to 2 decimals?")


# ------------------------------------------------------------------ tasks


def task_id(family_name: str, seed: int, difficulty: int) -> str:
    return f"{SUITE}/{family_name}/d{difficulty}/s{seed}"


def generate_task(family_name: str, seed: int, difficulty: int) -> Task:
    """The task for (family, seed, difficulty); the same arguments always give the same task."""
    if family_name not in FAMILIES:
        raise KeyError(f"unknown tool-use family {family_name!r} (known: {', '.join(FAMILIES)})")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    tid = task_id(family_name, seed, difficulty)
    # A string seed hashes stably (sha512), unlike hash() of a tuple under PYTHONHASHSEED.
    rng = random.Random(tid)
    plan = Plan()
    instruction = FAMILIES[family_name](rng, difficulty, plan, default_world())
    spec = {
        "version": SPEC_VERSION,
        "world_seed": WORLD_SEED,
        "plan": plan.calls,
        "answer": plan.last if isinstance(plan.last, str) else format_number(plan.last),
    }
    return Task(task_id=tid, suite=SUITE, family=family_name, seed=seed,
                instruction=instruction, difficulty=difficulty, spec=spec)
