"""Stewards, invitations, stepping down and the activity log, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

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
from tests.projects.steps import accept, decline, invite, log_of, step_down, withdraw


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
