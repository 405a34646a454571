// OAuth 2.0 and OpenID Connect sign-in driven by a maintained client library, openid-client
// (npm), against a running Cardinal: discovery, the authorization URL, the consent post, the
// code exchange with PKCE, /v2/cards with the token, the ID token checked against the JWK set,
// refresh, reuse detection, revocation. docs/oauth.md shows this file.
//
// Run by clients/run: CARDINAL_BASE_URL and CARDINAL_CREDENTIALS (the credentials file a
// first start writes) name the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';

const base = process.env.CARDINAL_BASE_URL;
const credentials = JSON.parse(readFileSync(process.env.CARDINAL_CREDENTIALS, 'utf8'));
const operator = { authorization: `Bearer ${credentials.operator_token}`, 'content-type': 'application/json' };
const redirectUri = 'http://127.0.0.1:8765/callback';

// The sandbox's consent page, as a test suite scripts it: read the form's CSRF token and its
// cookie, then post the decision.
async function consent(authorizationUrl, membershipId) {
  const page = await fetch(authorizationUrl);
  assert.equal(page.status, 200);
  const html = await page.text();
  const csrf = html.match(/name="csrf_token" value="([^"]+)"/)[1];
  const cookie = page.headers.get('set-cookie').split(';')[0];
  const form = new URLSearchParams(authorizationUrl.searchParams);
  form.set('membership_id', membershipId);
  form.set('decision', 'allow');
  form.set('csrf_token', csrf);
  const decided = await fetch(new URL('/oauth2/auth', base), {
    method: 'POST', body: form, headers: { cookie }, redirect: 'manual',
  });
  assert.equal(decided.status, 302);
  return new URL(decided.headers.get('location'));
}

test('openid-client signs in, refreshes, detects reuse and revokes', async () => {
  // An organization of its own: this test moves its clock.
  const created = await (await fetch(new URL('/_sandbox/organizations', base), {
    method: 'POST', headers: operator, body: JSON.stringify({ legal_name: 'OIDC Test', sca_mode: 'disabled' }),
  })).json();
  const organization = created.organization.id;
  const member = created.memberships.find((m) => m.role === 'admin');
  const registered = await (await fetch(new URL('/_sandbox/oauth_clients', base), {
    method: 'POST', headers: operator, body: JSON.stringify({ name: 'openid-client', redirect_uris: [redirectUri] }),
  })).json();

  // 1. Discovery (plain http is the local sandbox's; production would be https).
  const config = await client.discovery(new URL(base), registered.client_id, registered.client_secret,
    undefined, { execute: [client.allowInsecureRequests] });
  // The ID token's signature is checked against /.well-known/jwks.json.
  client.enableNonRepudiationChecks(config);

  // 2. The authorization URL, with PKCE, state and nonce.
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid card.read offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    organization_id: organization,
  });

  // 3. The consent post → the redirect with the code.
  const callback = await consent(url, member.id);

  // 4. The code exchange, with the verifier; 6. the ID token's claims, validated.
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  assert.equal(tokens.token_type, 'bearer');
  assert.match(tokens.access_token, /^ory_at_/);
  const claims = tokens.claims();
  assert.equal(claims.sub, member.id);
  assert.equal(claims.iss, base);
  assert.ok(claims.email && claims.sid && claims.jti && claims.at_hash && claims.auth_time);

  // 5. /v2/cards with the token.
  const cards = await fetch(new URL('/v2/cards', base), { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(cards.status, 200);

  // 7. Refresh: a new pair.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

  // 8. The first refresh token again, after the 60-second grace (the organization's clock
  // moved): refused, and every token of its family revoked.
  const clock = await fetch(new URL(`/_sandbox/organizations/${organization}/clock`, base), {
    method: 'POST', headers: operator, body: JSON.stringify({ advance_by: 61 }),
  });
  assert.equal(clock.status, 200);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token),
    (error) => error.error === 'invalid_grant');
  const revoked = await fetch(new URL('/v2/cards', base), { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  assert.equal(revoked.status, 401);

  // 9. Revocation (RFC 7009), on a new sign-in.
  const again = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'card.read', state, organization_id: organization,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const second = await client.authorizationCodeGrant(config, await consent(again, member.id), {
    pkceCodeVerifier: verifier, expectedState: state,
  });
  await client.tokenRevocation(config, second.access_token);
  const after = await fetch(new URL('/v2/cards', base), { headers: { authorization: `Bearer ${second.access_token}` } });
  assert.equal(after.status, 401);
});
