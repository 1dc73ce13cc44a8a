"""Project and steward operations, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from potluck.clock import FrozenClock
from potluck.db import Database
from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound, PotluckError
from potluck.people.models import Peer
from potluck.projects import service
from potluck.projects.models import ActivityEntry, Project, Steward, StewardInvitation
from tests.people.factories import make_peer
from tests.projects.conftest import Census
from tests.projects.factories import add_steward, make_project


def log_of(database: Database, slug: str) -> list[ActivityEntry]:
    with database.transaction(write=False) as session:
        project = service.get_project(session, slug)
        return service.activity(session, project, per_page=100).items


def invite(database: Database, slug: str, inviter: Peer, invitee: Peer | str) -> int:
    """Invite by email in a transaction of its own; returns the invitation's id."""
    email = invitee if isinstance(invitee, str) else invitee.email
    with database.transaction() as session:
        project = service.get_project(session, slug)
        return service.invite_steward(
            session, project, inviter=inviter, email=email, now=project.created_at
        ).id


def edit(database: Database, address: str, editor: Peer, **changes: Any) -> None:
    with database.transaction() as session:
        project = service.get_project(session, address)
        service.update_project(session, project, editor=editor, now=editor.created_at, **changes)


def step_down(database: Database, slug: str, peer: Peer) -> None:
    with database.transaction() as session:
        project = service.get_project(session, slug)
        service.step_down(session, project, peer=peer, now=peer.created_at)


def accept(database: Database, invitation_id: int, peer: Peer) -> None:
    with database.transaction() as session:
        service.accept_invitation(session, invitation_id, peer=peer, now=peer.created_at)


def decline(database: Database, invitation_id: int, peer: Peer) -> None:
    with database.transaction() as session:
        service.decline_invitation(session, invitation_id, peer=peer, now=peer.created_at)


def withdraw(database: Database, invitation_id: int, steward: Peer) -> None:
    with database.transaction() as session:
        service.withdraw_invitation(session, invitation_id, steward=steward, now=steward.created_at)


def start(database: Database, creator: Peer, **fields: Any) -> None:
    with database.transaction() as session:
        make_project(session, creator=creator, **fields)


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


class TestListStewards:
    def test_current_stewards_in_the_order_they_joined(
        self, database: Database, ana: Peer, ben: Peer, cleo: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
            add_steward(session, project, cleo)
            service.step_down(session, project, peer=ben, now=ben.created_at)
        with database.transaction(write=False) as session:
            project = service.get_project(session, "maps")
            current = [s.peer.display_name for s in service.active_stewards(session, project)]
            former = [s.peer.display_name for s in service.former_stewards(session, project)]
        assert current == ["Ana Lima", "Cleo Park"]
        assert former == ["Ben Okafor"]


class TestInviteSteward:
    def test_a_steward_invites_by_email_and_the_log_says_so(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            invitation = service.invite_steward(
                session,
                project,
                inviter=ana,
                email=" BEN@example.org ",
                message="Would you help?\r\n",
                now=ana.created_at,
            )
        assert (invitation.invitee_id, invitation.state, invitation.message) == (
            ben.id,
            "pending",
            "Would you help?",
        )
        entry = log_of(database, "maps")[0]
        assert entry.action == "steward.invited"
        assert entry.summary == "Ana Lima invited Ben Okafor to steward Maps."
        assert entry.details == {
            "invitation_id": invitation.id,
            "invitee_id": ben.id,
            "invitee": "Ben Okafor",
        }

    def test_a_steward_invites_by_peer_id(self, database: Database, ana: Peer, ben: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana)
            invitation = service.invite_steward(
                session, project, inviter=ana, peer_id=ben.id, now=ana.created_at
            )
        assert invitation.invitee_id == ben.id

    def test_an_unknown_email_is_not_found(
        self, database: Database, ana: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        before = census()
        with pytest.raises(NotFound, match=r"No peer has the email zed@example\.org") as caught:
            invite(database, "maps", ana, "zed@example.org")
        assert caught.value.field == "email"
        assert census() == before

    def test_a_non_steward_cannot_invite_or_probe_for_accounts(
        self, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        before = census()
        for email in ("ana@example.org", "nobody@example.org"):
            with pytest.raises(Forbidden, match="can invite stewards"):
                invite(database, "maps", ben, email)
        assert census() == before

    def test_someone_already_a_steward_is_a_conflict(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            add_steward(session, project, ben)
        with pytest.raises(Conflict, match="Ben Okafor is already a steward of Maps"):
            invite(database, "maps", ana, ben)
        with pytest.raises(Conflict, match="Ana Lima is already a steward"):
            invite(database, "maps", ana, ana)

    def test_a_second_pending_invitation_is_a_conflict(
        self, database: Database, ana: Peer, ben: Peer, cleo: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            add_steward(session, project, cleo)
        invite(database, "maps", ana, ben)
        before = census()
        with pytest.raises(Conflict, match="Ben Okafor already has a pending invitation"):
            invite(database, "maps", cleo, ben)
        assert census() == before

    def test_after_a_decline_the_peer_can_be_asked_again(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        first = invite(database, "maps", ana, ben)
        decline(database, first, ben)
        assert invite(database, "maps", ana, ben) != first

    def test_whom_to_invite_must_be_said(self, database: Database, ana: Peer, ben: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana)
            with pytest.raises(InvalidInput, match="either their email or their peer id"):
                service.invite_steward(session, project, inviter=ana, now=ana.created_at)
            with pytest.raises(InvalidInput, match="either their email or their peer id"):
                service.invite_steward(
                    session,
                    project,
                    inviter=ana,
                    email=ben.email,
                    peer_id=ben.id,
                    now=ana.created_at,
                )

    def test_an_unknown_peer_id_is_not_found(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana)
            with pytest.raises(NotFound, match="Peer 999 does not exist"):
                service.invite_steward(
                    session, project, inviter=ana, peer_id=999, now=ana.created_at
                )


class TestAcceptInvitation:
    def test_the_invitee_becomes_a_steward(
        self, database: Database, ana: Peer, ben: Peer, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        invitation_id = invite(database, "maps", ana, ben)
        with database.transaction() as session:
            steward = service.accept_invitation(session, invitation_id, peer=ben, now=clock.now())
        assert (steward.peer_id, steward.started_at) == (ben.id, clock.now())
        with database.transaction(write=False) as session:
            invitation = service.get_invitation(session, invitation_id)
            assert (invitation.state, invitation.resolved_at) == ("accepted", clock.now())
            project = service.get_project(session, "maps")
            assert service.is_steward(session, project, ben)
        entry = log_of(database, "maps")[0]
        assert entry.action == "steward.joined"
        assert entry.summary == (
            "Ben Okafor accepted Ana Lima's invitation and became a steward of Maps."
        )
        assert entry.details == {
            "invitation_id": invitation_id,
            "steward_id": ben.id,
            "inviter_id": ana.id,
        }

    def test_someone_else_is_forbidden(
        self, database: Database, ana: Peer, ben: Peer, cleo: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        invitation_id = invite(database, "maps", ana, ben)
        before = census()
        for someone in (cleo, ana):
            with pytest.raises(Forbidden, match="addressed to another peer"):
                accept(database, invitation_id, someone)
        assert census() == before

    def test_an_answered_invitation_cannot_be_accepted(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        invitation_id = invite(database, "maps", ana, ben)
        decline(database, invitation_id, ben)
        with pytest.raises(Conflict, match=f"Invitation {invitation_id} to steward Maps was "):
            accept(database, invitation_id, ben)

    def test_an_unknown_invitation_is_not_found(self, database: Database, ben: Peer) -> None:
        with pytest.raises(NotFound, match="Invitation 404 does not exist"):
            accept(database, 404, ben)


class TestDeclineInvitation:
    def test_the_invitee_declines_and_the_log_says_so(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        invitation_id = invite(database, "maps", ana, ben)
        with database.transaction() as session:
            invitation = service.decline_invitation(
                session, invitation_id, peer=ben, now=ben.created_at
            )
        assert invitation.state == "declined"
        entry = log_of(database, "maps")[0]
        assert (entry.action, entry.summary) == (
            "steward.declined",
            "Ben Okafor declined the invitation to steward Maps.",
        )
        with database.transaction(write=False) as session:
            assert not service.is_steward(session, service.get_project(session, "maps"), ben)

    def test_someone_else_is_forbidden(
        self, database: Database, ana: Peer, ben: Peer, cleo: Peer
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        invitation_id = invite(database, "maps", ana, ben)
        with pytest.raises(Forbidden):
            decline(database, invitation_id, cleo)


class TestWithdrawInvitation:
    def test_any_steward_withdraws_and_it_can_no_longer_be_accepted(
        self, database: Database, ana: Peer, ben: Peer, cleo: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            add_steward(session, project, cleo)
        invitation_id = invite(database, "maps", ana, ben)
        withdraw(database, invitation_id, cleo)
        entry = log_of(database, "maps")[0]
        assert (entry.action, entry.summary) == (
            "steward.invitation_withdrawn",
            "Cleo Park withdrew the invitation for Ben Okafor to steward Maps.",
        )
        with pytest.raises(Conflict, match="was already withdrawn"):
            accept(database, invitation_id, ben)

    def test_a_non_steward_is_forbidden(
        self, database: Database, ana: Peer, ben: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        invitation_id = invite(database, "maps", ana, ben)
        before = census()
        with pytest.raises(Forbidden, match="can withdraw invitations"):
            withdraw(database, invitation_id, ben)
        assert census() == before


class TestStepDown:
    def test_last_steward_is_refused_with_reason(
        self, database: Database, ana: Peer, census: Census
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps", name="Maps")
        before = census()
        with pytest.raises(Conflict, match="nobody to coordinate it") as caught:
            step_down(database, "maps", ana)
        assert "last steward of Maps" in caught.value.detail
        assert census() == before

    def test_a_steward_steps_down_with_a_handover_note(
        self, database: Database, ana: Peer, ben: Peer, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps", name="Maps")
            add_steward(session, project, ben)
        later = clock.advance(timedelta(days=30))
        with database.transaction() as session:
            project = service.get_project(session, "maps")
            record = service.step_down(
                session, project, peer=ana, handover_note="The server key is with Ben.", now=later
            )
        assert (record.ended_at, record.handover_note) == (later, "The server key is with Ben.")
        with database.transaction(write=False) as session:
            project = service.get_project(session, "maps")
            assert [s.peer_id for s in service.active_stewards(session, project)] == [ben.id]
        entry = log_of(database, "maps")[0]
        assert entry.action == "steward.stepped_down"
        assert entry.summary == (
            "Ana Lima stepped down as steward of Maps. They left a handover note."
        )
        assert entry.details == {
            "steward_id": ana.id,
            "handover_note": "The server key is with Ben.",
        }

    def test_a_peer_who_is_not_a_steward_has_nothing_to_step_down_from(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        with pytest.raises(Conflict, match="nothing to step down from"):
            step_down(database, "maps", ben)

    def test_a_former_steward_can_be_invited_back(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
            service.step_down(session, project, peer=ana, now=ana.created_at)
            add_steward(session, project, ana)
            stewards = [s.peer_id for s in service.active_stewards(session, project)]
        assert sorted(stewards) == sorted([ana.id, ben.id])

    def test_two_stewards_stepping_down_at_once_leave_one(
        self, database: Database, ana: Peer, ben: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
        outcome: list[BaseException | None] = []

        def ben_steps_down() -> None:
            try:
                with database.transaction() as session:
                    project = service.get_project(session, "maps")
                    service.step_down(session, project, peer=ben, now=ben.created_at)
            except PotluckError as error:
                outcome.append(error)
            else:
                outcome.append(None)

        first = database.session()
        try:
            project = service.get_project(first, "maps")
            service.step_down(first, project, peer=ana, now=ana.created_at)
            other = threading.Thread(target=ben_steps_down)
            other.start()
            time.sleep(0.5)
            assert other.is_alive(), "the second step-down did not wait for the first"
            first.commit()
        finally:
            first.close()
        other.join(timeout=30)
        assert isinstance(outcome[0], Conflict)
        with database.transaction(write=False) as session:
            project = service.get_project(session, "maps")
            assert [s.peer_id for s in service.active_stewards(session, project)] == [ben.id]


class TestPendingInvitations:
    def test_to_a_peer_newest_first_and_of_a_project(
        self, database: Database, ana: Peer, ben: Peer, clock: FrozenClock
    ) -> None:
        with database.transaction() as session:
            first = make_project(session, creator=ana, slug="first")
            second = make_project(session, creator=ana, slug="second")
            service.invite_steward(session, first, inviter=ana, peer_id=ben.id, now=clock.now())
            later = clock.advance(timedelta(hours=1))
            service.invite_steward(session, second, inviter=ana, peer_id=ben.id, now=later)
        with database.transaction(write=False) as session:
            mine = service.pending_invitations_to(session, ben)
            of_first = service.pending_invitations_of(
                session, service.get_project(session, "first")
            )
            for_ben = service.pending_invitation_for(session, first, ben)
            for_ana = service.pending_invitation_for(session, first, ana)
            for_nobody = service.pending_invitation_for(session, first, None)
        assert [i.project.slug for i in mine] == ["second", "first"]
        assert [i.invitee_id for i in of_first] == [ben.id]
        assert for_ben is not None
        assert for_ben.project_id == first.id
        assert for_ana is None
        assert for_nobody is None


class TestActivity:
    def test_newest_first_in_pages(self, database: Database, ana: Peer, ben: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana, slug="maps")
            add_steward(session, project, ben)
        with database.transaction(write=False) as session:
            project = service.get_project(session, "maps")
            first = service.activity(session, project, per_page=2)
            second = service.activity(session, project, page=2, per_page=2)
        assert [e.action for e in first.items] == ["steward.joined", "steward.invited"]
        assert [e.action for e in second.items] == ["project.created"]
        assert (first.total, first.pages) == (3, 2)

    def test_the_log_cannot_be_rewritten(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            make_project(session, creator=ana, slug="maps")
        with database.transaction() as session:
            entry = session.scalars(select(ActivityEntry)).one()
            entry.summary = "Nothing happened."
            with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
                session.flush()
            session.rollback()
        assert log_of(database, "maps")[0].action == "project.created"


class TestDatabaseInvariants:
    def test_an_invitation_to_oneself_is_refused_by_the_database(
        self, database: Database, ana: Peer
    ) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana)
            session.add(
                StewardInvitation(
                    project_id=project.id,
                    invitee_id=ana.id,
                    inviter_id=ana.id,
                    created_at=project.created_at,
                )
            )
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()

    def test_one_active_stretch_per_peer_and_project(self, database: Database, ana: Peer) -> None:
        with database.transaction() as session:
            project = make_project(session, creator=ana)
            session.add(
                Steward(project_id=project.id, peer_id=ana.id, started_at=project.created_at)
            )
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()

    def test_a_failure_after_starting_leaves_no_trace(
        self, database: Database, census: Census
    ) -> None:
        def start_then_fail() -> None:
            with database.transaction() as session:
                make_project(session, creator=make_peer(session))
                raise RuntimeError

        before = census()
        with pytest.raises(RuntimeError):
            start_then_fail()
        assert census() == before
        with database.transaction(write=False) as session:
            assert session.scalars(select(Project)).all() == []
