"""The fixed synthetic world behind the frozen tools: cities, people, companies, tables.

Generated once from a constant seed, so every tool, task and test sees the
same facts on every machine, and no fact can be looked up anywhere but through
the tools (names are made of invented syllables). Every name token is unique
across entities, so a search for a full name finds that entity first.

>>> world = default_world()
>>> len(world.cities), len(world.people), len(world.companies)
(30, 40, 24)
>>> world.person(world.people[0].name) == world.people[0]
True
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from dataclasses import dataclass

from tracer1.executors.numbers import format_number

WORLD_SEED = 2603_16777  # the paper's arXiv id: any constant works, it must never change
N_COUNTRIES, N_CITIES, N_PEOPLE, N_COMPANIES, N_STORES = 8, 30, 40, 24, 8
ITEMS = ("apple", "bread", "butter", "cheese", "coffee", "eggs", "flour", "honey", "milk",
         "rice", "sugar", "tea")
_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "r", "s",
           "st", "t", "tr", "v", "z", "th", "sh", "qu")
_VOWELS = ("a", "e", "i", "o", "u", "ia", "ea", "ou", "y")
_CODAS = ("", "", "n", "r", "l", "s", "x", "th", "m", "nd")
_COMPANY_SUFFIXES = ("Labs", "Systems", "Works", "Industries", "Group")


@dataclass(frozen=True)
class City:
    name: str
    country: str
    population: int
    founded: int
    area_km2: int
    elevation_m: int
    mean_temp_c: float
    x_km: float  # position on the world map; only distances are exposed
    y_km: float


@dataclass(frozen=True)
class Person:
    name: str
    born: str  # ISO date
    height_cm: int
    weight_kg: int
    hometown: str
    employer: str


@dataclass(frozen=True)
class Company:
    name: str
    founded: str  # ISO date
    headquarters: str
    revenue_musd: float
    employees: int


@dataclass(frozen=True)
class Table:
    """A read-only grid of numbers; `unit` is printed after every value."""

    name: str
    description: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], float | int]
    unit: str


@dataclass(frozen=True)
class World:
    cities: tuple[City, ...]
    people: tuple[Person, ...]
    companies: tuple[Company, ...]
    tables: dict[str, Table]

    def city(self, name: str) -> City:
        return _index(self.cities)[name]

    def person(self, name: str) -> Person:
        return _index(self.people)[name]

    def company(self, name: str) -> Company:
        return _index(self.companies)[name]


@functools.cache
def _index(entities: tuple) -> dict:
    return {e.name: e for e in entities}


# ------------------------------------------------------------------ facts as text


def describe(entity: City | Person | Company) -> tuple[str, str, str]:
    """(title, kind, body) of the knowledge-base document about `entity`.

    The body is what `search` prints, so tasks quote values exactly as shown.
    """
    match entity:
        case City():
            return entity.name, "city", (
                f"city in {entity.country}; population: {entity.population}; "
                f"founded: {entity.founded}; area: {entity.area_km2} km2; "
                f"elevation: {entity.elevation_m} m; "
                f"mean temperature: {format_number(entity.mean_temp_c)} C")
        case Person():
            return entity.name, "person", (
                f"born: {entity.born}; height: {entity.height_cm} cm; "
                f"weight: {entity.weight_kg} kg; hometown: {entity.hometown}; "
                f"employer: {entity.employer}")
        case Company():
            return entity.name, "company", (
                f"founded: {entity.founded}; headquarters: {entity.headquarters}; "
                f"revenue: {format_number(entity.revenue_musd)} million USD; "
                f"employees: {entity.employees}")
    raise TypeError(f"not an entity: {entity!r}")


def documents(world: World) -> list[tuple[str, str, str]]:
    return [describe(e) for e in (*world.cities, *world.people, *world.companies)]


# ------------------------------------------------------------------ generation


class _Names:
    """Unique invented words: no token is shared by two names."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def word(self) -> str:
        while True:
            syllables = self.rng.choice((2, 2, 3))
            word = "".join(self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS)
                           for _ in range(syllables)) + self.rng.choice(_CODAS)
            if 4 <= len(word) <= 11 and word not in self.used:
                self.used.add(word)
                return word.capitalize()


def _date(rng: random.Random, first_year: int, last_year: int) -> str:
    start = dt.date(first_year, 1, 1).toordinal()
    stop = dt.date(last_year, 12, 31).toordinal()
    return dt.date.fromordinal(rng.randint(start, stop)).isoformat()


def _cities(rng: random.Random, names: _Names) -> tuple[City, ...]:
    countries = [names.word() for _ in range(N_COUNTRIES)]
    return tuple(
        City(
            name=names.word(),
            country=rng.choice(countries),
            population=rng.randint(20, 3000) * 1000 + rng.randint(0, 999),
            founded=rng.randint(800, 1950),
            area_km2=rng.randint(40, 1500),
            elevation_m=rng.randint(2, 2400),
            mean_temp_c=round(rng.uniform(-2.0, 27.0), 1),
            x_km=rng.uniform(0, 3000),
            y_km=rng.uniform(0, 2000),
        )
        for _ in range(N_CITIES)
    )


def _companies(rng: random.Random, names: _Names, cities: tuple[City, ...]) -> tuple[Company, ...]:
    return tuple(
        Company(
            name=f"{names.word()} {rng.choice(_COMPANY_SUFFIXES)}",
            founded=_date(rng, 1850, 2015),
            headquarters=rng.choice(cities).name,
            revenue_musd=round(rng.uniform(5, 9000), 1),
            employees=rng.randint(12, 90000),
        )
        for _ in range(N_COMPANIES)
    )


def _people(rng: random.Random, names: _Names, cities: tuple[City, ...],
            companies: tuple[Company, ...]) -> tuple[Person, ...]:
    return tuple(
        Person(
            name=f"{names.word()} {names.word()}",
            born=_date(rng, 1940, 2005),
            height_cm=rng.randint(150, 201),
            weight_kg=rng.randint(45, 110),
            hometown=rng.choice(cities).name,
            employer=rng.choice(companies).name,
        )
        for _ in range(N_PEOPLE)
    )


def _distances(cities: tuple[City, ...]) -> Table:
    names = tuple(c.name for c in cities)
    cells = {
        (a.name, b.name): 0 if a is b else max(1, round(math.hypot(a.x_km - b.x_km,
                                                                   a.y_km - b.y_km)))
        for a in cities for b in cities
    }
    return Table("distances", "road distance between two cities", names, names, cells, "km")


def _prices(rng: random.Random, names: _Names) -> Table:
    stores = tuple(f"{names.word()} Market" for _ in range(N_STORES))
    base = {item: rng.uniform(0.5, 20.0) for item in ITEMS}
    factor = {store: rng.uniform(0.8, 1.3) for store in stores}
    cells = {(i, s): round(base[i] * factor[s], 2) for i in ITEMS for s in stores}
    return Table("prices", "price of one unit of an item at a store", ITEMS, stores, cells, "USD")


@functools.cache
def default_world() -> World:
    """The one world every toolbox and task generator uses (built once per process)."""
    rng = random.Random(WORLD_SEED)
    names = _Names(rng)
    cities = _cities(rng, names)
    companies = _companies(rng, names, cities)
    people = _people(rng, names, cities, companies)
    tables = {t.name: t for t in (_distances(cities), _prices(rng, names))}
    return World(cities, people, companies, tables)
