"""The force's organisation (area commands and teams) is data: loaded by an
administrator with the policy (versioned, audited), validated, and used by
user administration, imports, the CLI's choices and the screens; without one
the synthetic force's shipped organisation applies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Database
from app.errors import BadInput
from app.rms.formats import Vocabulary
from app.services import policy_store
from app.services.users import add_user, install_first_admin
from models import AuditEvent
from seed.reference import force_organisation, organisation

FORCE = """
[[organisation.area_commands]]
code = "Highland"
name = "Highland Area Command"

[[organisation.area_commands]]
code = "Lowland"

[[organisation.teams]]
code = "Public Protection"
name = "Public Protection Unit"

[[organisation.teams]]
code = "CID"
"""


def _admin(database: Database) -> None:
    with database.write() as session:
        install_first_admin(session, username="it.admin", display_name="IT",
                            dialect=database.dialect, live=False)


def test_without_a_loaded_organisation_the_shipped_one_applies(make_context) -> None:  # type: ignore[no-untyped-def]
    assert force_organisation(make_context("analyst").policy) == organisation()


def test_an_administrator_loads_the_forces_organisation(make_context, database: Database,  # type: ignore[no-untyped-def]
                                                        tmp_path: Path) -> None:
    _admin(database)
    force = tmp_path / "force.toml"
    force.write_text(FORCE, encoding="utf-8")
    version = policy_store.set_policy(make_context("it.admin"), path=str(force),
                                      note="our area commands")
    admin = make_context("it.admin")
    org = force_organisation(admin.policy)
    assert org.area_commands == ("Highland", "Lowland")
    assert org.teams == ("Public Protection", "CID")
    assert org.name_of("Highland") == "Highland Area Command" and org.name_of("Lowland") == "Lowland"
    # user administration takes the force's areas, not the synthetic force's
    add_user(admin, username="ps.highland", display_name="PS Highland", role="supervisor",
             area="Highland")
    with pytest.raises(BadInput, match="'Northern': not an area command \\(Highland, Lowland\\)"):
        add_user(admin, username="ps.north", display_name="PS North", role="supervisor",
                 area="Northern")
    # imports check against it
    vocab = Vocabulary.load(admin.policy, datetime(2026, 3, 2, tzinfo=UTC))
    assert vocab.areas == ("Highland", "Lowland") and "Public Protection" in vocab.teams
    with database.read() as session:
        changed = session.execute(select(AuditEvent).where(
            AuditEvent.entity == "policy", AuditEvent.action == "update")).scalar_one()
    assert changed.username == "it.admin" and changed.reason == "our area commands"
    assert [h.version for h in policy_store.view_history(admin)] == [version]


@pytest.mark.parametrize(("text", "problem"), [
    ('[[organisation.area_commands]]\ncode = "Highland"\n[[organisation.area_commands]]\n'
     'code = "highland"\n[[organisation.teams]]\ncode = "CID"\n',
     "organisation.area_commands[1].code': 'highland' is given twice"),
    ('[[organisation.area_commands]]\ncode = "Highland"\n',
     "organisation.teams' is missing"),
    ('[[organisation.area_commands]]\ncode = "9 Area"\n[[organisation.teams]]\ncode = "CID"\n',
     "organisation.area_commands[0].code': '9 Area' must be"),
    ('[[organisation.area_commands]]\nname = "no code"\n[[organisation.teams]]\ncode = "CID"\n',
     "organisation.area_commands[0].code' is missing"),
])
def test_a_bad_organisation_is_refused_naming_file_and_key(make_context, database: Database,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path, text: str,
                                                           problem: str) -> None:
    _admin(database)
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as refused:
        policy_store.set_policy(make_context("it.admin"), path=str(bad), note="typo")
    assert problem in str(refused.value) and "bad.toml" in str(refused.value)
    assert force_organisation(make_context("analyst").policy) == organisation()
