"""Starting, changing, finding and exploring projects, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.people.models import Peer
from potluck.projects import service
from tests.projects.conftest import Census
from tests.projects.factories import add_steward, make_project
from tests.projects.steps import edit, log_of, start


class TestCreateProject:
    def test_creator_becomes_the_first_steward(
        self, database: Database, ana: Peer, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="bike-shed", now=clock.now())
        with database.transaction(write=False) as session:
            project = service.get_project(session, "bike-shed")
            stewards = service.active_stewards(session, project)
        assert [steward.peer_id for steward in stewards] == [ana.id]
        assert stewards[0].started_at == clock.now()

    def test_records_the_start_in_the_log(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, name="Bike Shed", slug="bike-shed")
        [entry] = log_of(database, "bike-shed")
        assert entry.action == "project.created"
        assert entry.actor_id == ana.id
        assert entry.summary == "Ana Lima started Bike Shed and became its first steward."
        assert entry.details == {
            "slug": "bike-shed",
            "name": "Bike Shed",
            "licence": "MIT",
            "steward_id": ana.id,
        }

    def test_fields_are_normalised(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = service.create_project(
                session,
                creator=ana,
                name="  Café   Commons ",
                summary=" Coffee for  the co-working room. ",
                licence="mit or apache-2.0",
                description="Line one\r\nLine two\r\n",
                links=[("", ""), ("Source", "https://codeberg.org/cafe")],
                now=ana.created_at,
            )
        assert project.slug == "cafe-commons"
        assert project.name == "Café Commons"
        assert project.summary == "Coffee for the co-working room."
        assert project.licence == "MIT OR Apache-2.0"
        assert project.description == "Line one\nLine two"
        with database.transaction(write=False) as session:
            stored = service.get_project(session, "cafe-commons")
            assert [(link.label, link.url) for link in stored.links] == [
                ("Source", "https://codeberg.org/cafe")
            ]

    def test_links_keep_their_order(self, database: Database, ana: Peer) -> None:
        links = [(f"Link {n}", f"https://example.org/{n}") for n in range(10)]
        with database.transaction() as session:
            make_project(session, creator=ana, slug="ordered", links=links)
        with database.transaction(write=False) as session:
            stored = service.get_project(session, "ordered")
            assert [(link.label, link.url) for link in stored.links] == links

    def test_duplicate_slug_is_a_conflict_naming_it(
        self, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="bike-shed")
        before = census()
        with pytest.raises(Conflict, match="'bike-shed' is already taken") as caught:
            start(database, ben, slug="Bike-Shed")
        assert caught.value.field == "slug"
        assert census() == before

    def test_unknown_licence_is_refused_naming_it(
        self, database: Database, ana: Peer, census: Census
    ) -> None:
        before = census()
        with pytest.raises(InvalidInput, match=re.escape("'Nope-1.0'")) as caught:
            start(database, ana, licence="MIT OR Nope-1.0")
        assert caught.value.status == 422
        assert census() == before

    def test_racing_for_one_slug_the_index_decides(
        self, database: Database, ana: Peer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Another request took the address after this one checked: the unique index refuses
        # the insert and the answer is the same conflict, not a crash.
        start(database, ana, slug="raced")
        with database.transaction() as session:
            monkeypatch.setattr(session, "scalar", lambda *_args, **_kwargs: None)
            with pytest.raises(Conflict, match="'raced' is already taken"):
                make_project(session, creator=ana, slug="raced")


class TestGetProject:
    def test_finds_by_slug_in_any_case(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        with database.transaction(write=False) as session:
            assert service.get_project(session, "Maps").slug == "maps"

    def test_unknown_slug_is_not_found_naming_it(self, database: Database) -> None:
        with (
            database.transaction(write=False) as session,
            pytest.raises(NotFound, match="No project has the address 'nowhere'"),
        ):
            service.get_project(session, "nowhere")


class TestUpdateProject:
    def test_steward_changes_fields_and_the_log_names_them(
        self, database: Database, ana: Peer, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps", now=clock.now())
        later = clock.advance(timedelta(days=1))
        with database.transaction() as session:
            project = service.get_project(session, "maps")
            service.update_project(
                session,
                project,
                editor=ana,
                name="Open Maps",
                licence="odbl-1.0",
                summary=project.summary,
                now=later,
            )
        with database.transaction(write=False) as session:
            project = service.get_project(session, "maps")
            assert (project.name, project.licence, project.updated_at) == (
                "Open Maps",
                "ODbL-1.0",
                later,
            )
        entry = log_of(database, "maps")[0]
        assert entry.action == "project.updated"
        assert entry.summary == "Ana Lima changed the name and licence of Open Maps."
        assert entry.details == {
            "changed": ["name", "licence"],
            "from": {"name": "Maps", "licence": "MIT"},
            "to": {"name": "Open Maps", "licence": "ODbL-1.0"},
        }

    def test_description_change_is_logged_without_its_text(
        self, database: Database, ana: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            service.update_project(
                session, project, editor=ana, description="A long story.", now=ana.created_at
            )
        entry = log_of(database, "maps")[0]
        assert entry.details == {"changed": ["description"], "from": {}, "to": {}}

    def test_links_are_replaced(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = make_project(
                session, creator=ana, slug="maps", links=[("Old", "https://old.example")]
            )
            service.update_project(
                session,
                project,
                editor=ana,
                links=[("Code", "https://code.example"), ("Chat", "https://chat.example")],
                now=ana.created_at,
            )
        with database.transaction(write=False) as session:
            project = service.get_project(session, "maps")
            assert [link.label for link in project.links] == ["Code", "Chat"]
        assert log_of(database, "maps")[0].details["to"] == {
            "links": [
                {"label": "Code", "url": "https://code.example"},
                {"label": "Chat", "url": "https://chat.example"},
            ]
        }

    def test_nothing_changed_writes_nothing(
        self, database: Database, ana: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        before = census()
        with database.transaction() as session:
            project = service.get_project(session, "maps")
            service.update_project(
                session, project, editor=ana, name=" Maps ", slug="maps", now=ana.created_at
            )
        assert census() == before

    def test_non_steward_is_forbidden_and_nothing_changes(
        self, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        before = census()
        with pytest.raises(Forbidden, match="Only stewards of Maps can edit it"):
            edit(database, "maps", ben, name="Ben's")
        assert census() == before
        with database.transaction(write=False) as session:
            assert service.get_project(session, "maps").name == "Maps"

    def test_a_former_steward_is_forbidden(self, database: Database, ana: Peer, ben: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
            service.step_down(session, project, peer=ana, now=ana.created_at)
        with pytest.raises(Forbidden):
            edit(database, "maps", ana, name="X")

    def test_the_slug_cannot_change(self, database: Database, ana: Peer, census: Census) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        before = census()
        with pytest.raises(InvalidInput, match="Maps stays at 'maps'") as caught:
            edit(database, "maps", ana, slug="atlas", name="Atlas")
        assert caught.value.field == "slug"
        assert census() == before

    def test_bad_fields_change_nothing(self, database: Database, ana: Peer, census: Census) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        before = census()
        with pytest.raises(InvalidInput, match="'Nope'"):
            edit(database, "maps", ana, name="Atlas", licence="Nope")
        assert census() == before

    def test_an_archived_project_is_read_only(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            project.archived_at = project.created_at
        with pytest.raises(Conflict, match="Maps is archived"):
            edit(database, "maps", ana, name="X")

    def test_search_follows_the_new_name(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            service.update_project(
                session, project, editor=ana, name="Zanzibar Atlas", now=ana.created_at
            )
        with database.transaction(write=False) as session:
            assert [p.slug for p in service.explore(session, query="zanzibar").items] == ["maps"]


class TestExplore:
    @pytest.fixture
    def projects(self, database: Database, ana: Peer, clock: FrozenClock) -> None:
        with database.transaction() as session:
            for slug, name, summary in [
                ("bike-shed", "Bike Shed", "Tools and a stand for fixing bicycles."),
                ("osm-lisbon", "OpenStreetMap Lisbon", "Mapping walks every Saturday."),
                ("ecole-libre", "École Libre", "Free lessons in the square."),
                ("percent", "Give 100%", "A fund where _ and % are plain characters."),
            ]:
                make_project(
                    session, creator=ana, slug=slug, name=name, summary=summary, now=clock.now()
                )
                clock.advance(timedelta(hours=1))

    def found(self, database: Database, query: str | None, **options: object) -> list[str]:
        with database.transaction(write=False) as session:
            result = service.explore(session, query=query, **options)  # type: ignore[arg-type]
            return [project.slug for project in result.items]

    @pytest.mark.usefixtures("projects")
    def test_finds_by_name_summary_or_slug_ignoring_case(self, database: Database) -> None:
        assert self.found(database, "BIKE") == ["bike-shed"]
        assert self.found(database, "saturday") == ["osm-lisbon"]
        assert self.found(database, "osm-lis") == ["osm-lisbon"]

    @pytest.mark.usefixtures("projects")
    def test_every_word_must_match(self, database: Database) -> None:
        assert self.found(database, "mapping lisbon") == ["osm-lisbon"]
        assert self.found(database, "mapping bicycles") == []

    @pytest.mark.usefixtures("projects")
    def test_letters_beyond_ascii_ignore_case(self, database: Database) -> None:
        assert self.found(database, "ÉCOLE") == ["ecole-libre"]
        assert self.found(database, "école") == ["ecole-libre"]

    @pytest.mark.usefixtures("projects")
    def test_wildcards_are_plain_characters(self, database: Database) -> None:
        assert self.found(database, "100%") == ["percent"]
        assert self.found(database, "_") == ["percent"]
        assert self.found(database, "%") == ["percent"]

    @pytest.mark.usefixtures("projects")
    def test_newest_first_or_by_name(self, database: Database) -> None:
        assert self.found(database, None) == ["percent", "ecole-libre", "osm-lisbon", "bike-shed"]
        assert self.found(database, "", order=service.Order.NAME) == [
            "bike-shed",
            "percent",
            "osm-lisbon",
            "ecole-libre",
        ]

    @pytest.mark.usefixtures("projects")
    def test_pages(self, database: Database) -> None:
        with database.transaction(write=False) as session:
            first = service.explore(session, per_page=3)
            second = service.explore(session, page=2, per_page=3)
        assert (first.total, first.pages, first.has_next, first.has_previous) == (4, 2, True, False)
        assert [p.slug for p in second.items] == ["bike-shed"]
        assert (second.has_next, second.has_previous) == (False, True)

    def test_page_zero_is_refused(self, database: Database) -> None:
        with (
            database.transaction(write=False) as session,
            pytest.raises(InvalidInput, match="numbered from 1"),
        ):
            service.explore(session, page=0)
