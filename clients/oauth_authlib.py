"""OAuth 2.0 and OpenID Connect sign-in driven by Authlib (PyPI, with its joserfc for the ID token) against a running Cardinal:
discovery, the authorization URL, the consent post, the code exchange with PKCE, /v2/cards
with the token, the ID token checked against the JWK set, refresh, revocation.
docs/oauth.md shows this file.

Run by clients/run: CARDINAL_BASE_URL and CARDINAL_CREDENTIALS (the credentials file a first
start writes) name the server.
"""
import json
import os
import re

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the local sandbox speaks plain http
base = os.environ["CARDINAL_BASE_URL"]
credentials = json.load(open(os.environ["CARDINAL_CREDENTIALS"]))
operator = {"Authorization": f"Bearer {credentials['operator_token']}"}
organization = credentials["organization"]["id"]
member = next(m for m in credentials["memberships"] if m["role"] == "owner")
redirect_uri = "http://127.0.0.1:8765/callback"


def consent(authorization_url, membership_id):
    """The sandbox's consent page, as a test suite scripts it: the form's CSRF token and its
    cookie, then the decision."""
    browser = requests.Session()
    page = browser.get(authorization_url)
    page.raise_for_status()
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form = {name: value.replace("&amp;", "&") for name, value in form.items()}
    form.update(membership_id=membership_id, decision="allow")
    decided = browser.post(f"{base}/oauth2/auth", data=form, allow_redirects=False)
    assert decided.status_code == 302, decided.text
    return decided.headers["location"]


registered = requests.post(
    f"{base}/_sandbox/oauth_clients",
    headers=operator,
    json={"name": "authlib", "redirect_uris": [redirect_uri]},
).json()

# 1. Discovery.
metadata = requests.get(f"{base}/.well-known/openid-configuration").json()
session = OAuth2Session(
    registered["client_id"],
    registered["client_secret"],
    scope="openid card.read offline_access",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
)

# 2. The authorization URL, with PKCE and a nonce.
verifier, nonce = generate_token(48), generate_token(20)
url, state = session.create_authorization_url(
    metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, organization_id=organization
)

# 3. The consent post; 4. the code exchange with the verifier (Authlib checks the state).
callback = consent(url, member["id"])
token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)
assert token["access_token"].startswith("ory_at_") and token["token_type"] == "bearer"

# 5. /v2/cards with the token.
cards = requests.get(f"{base}/v2/cards", headers={"Authorization": f"Bearer {token['access_token']}"})
assert cards.status_code == 200, cards.text

# 6. The ID token, checked against the JWK set.
keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"]).json())
id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
jwt.JWTClaimsRegistry(
    iss={"essential": True, "value": metadata["issuer"]},
    aud={"essential": True, "value": registered["client_id"]},
    exp={"essential": True},
).validate(id_token.claims)
assert id_token.claims["sub"] == member["id"] and id_token.claims["nonce"] == nonce

# 7. Refresh: a new pair.
refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
assert refreshed["refresh_token"] != token["refresh_token"]

# 9. Revocation (RFC 7009).
session.revoke_token(metadata["revocation_endpoint"], token=refreshed["access_token"], token_type_hint="access_token")
after = requests.get(f"{base}/v2/cards", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
assert after.status_code == 401, after.text
print("authlib: signed in, refreshed and revoked")
