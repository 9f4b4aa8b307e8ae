"""A new integrator's journey through the Python client that openapi-python-client generated
from docs/openapi.json, against a live usher: log in, create a customer account, create a
user, invite two addresses, list the users page by page with the cursor, and read a refusal
as a typed problem. Every answer must parse into the type the spec promises; prints `ok`."""

import sys

from usher_client import AuthenticatedClient, Client
from usher_client.api.accounts import create_account
from usher_client.api.catalog import list_roles, list_user_types
from usher_client.api.invitations import invite
from usher_client.api.sessions import login
from usher_client.api.users import create_user, list_users
from usher_client.models import (
    CreatedAccount,
    InvitationOutcomes,
    LoginBody,
    NewAccountBody,
    NewInvitationsBody,
    NewUserBody,
    Problem,
    RoleList,
    Session,
    User,
    UserList,
    UserTypeList,
)

PASSWORD = "client journey passphrase 1"


def expect(value, kind):
    assert isinstance(value, kind), f"expected {kind.__name__}, got {value!r}"
    return value


def main() -> int:
    base, operator_password = sys.argv[1], sys.argv[2]
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    body = LoginBody(account="default", username="admin", password=operator_password)
    operator = AuthenticatedClient(base_url=base, token=expect(login.sync(client=anonymous, body=body), Session).token)

    body = NewAccountBody(
        slug="acme", name="Acme", admin_email="ann@acme.example.com", admin_username="ann",
        admin_password=PASSWORD, user_seats=4,
    )
    acme = expect(create_account.sync(client=operator, body=body), CreatedAccount).account
    session = expect(login.sync(client=anonymous, body=LoginBody(account="acme", username="ann", password=PASSWORD)), Session)
    ann = AuthenticatedClient(base_url=base, token=session.token)
    user_type = next(t.id for t in expect(list_user_types.sync(acme.id, client=ann), UserTypeList).items if t.key == "user")
    role = next(r.id for r in expect(list_roles.sync(acme.id, client=ann), RoleList).items if r.name == "user")

    for name in ["bob", "carl", "dora"]:
        body = NewUserBody(email=f"{name}@acme.example.com", username=name, user_type=user_type, roles=[role])
        created = expect(create_user.sync(acme.id, client=ann, body=body), User)
        assert created.username == name, created
    body = NewInvitationsBody(emails=["eve@acme.example.com", "frank@mailinator.com"], user_type=user_type, roles=[role])
    outcomes = expect(invite.sync(acme.id, client=ann, body=body), InvitationOutcomes)
    assert [o.outcome for o in outcomes.items] == ["invited", "disposable_email"], outcomes

    seen, cursor = [], None
    while True:
        page = expect(list_users.sync(acme.id, client=ann, limit=2, cursor=cursor), UserList)
        seen += [user.username for user in page.items]
        if not isinstance(page.next_cursor, str):
            break
        cursor = page.next_cursor
    assert sorted(seen) == ["ann", "bob", "carl", "dora"], seen

    # The seats are full (three users and one invitation of four): the refusal is a typed
    # problem with the numbers.
    body = NewUserBody(email="gina@acme.example.com", username="gina", user_type=user_type, roles=[role])
    problem = expect(create_user.sync(acme.id, client=ann, body=body), Problem)
    assert (problem.status, problem.code) == (409, "no_seat_available"), problem
    assert (problem.used, problem.reserved, problem.total) == (3, 1, 4), problem
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
