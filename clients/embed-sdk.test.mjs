// Qonto's official SDK, @qonto/embed-sdk, against a running Cardinal — unchanged.
//
// The SDK has Qonto's hosts built in, so the test points them at Cardinal the way a developer
// would with a proxy: every request to a Qonto host goes to CARDINAL_BASE_URL instead, path and
// query untouched. Two ways are driven, as the SDK offers them:
//   - server side (`@qonto/embed-sdk/server/...`): the SDK calls the API with an access token;
//   - client side (`@qonto/embed-sdk/cards`, `/transactions`): the SDK hands an encoded call to
//     the integrator's `proxyRequestFunction`, whose backend adds the token and relays it.
//
// Run by clients/run: CARDINAL_BASE_URL and CARDINAL_CREDENTIALS (the credentials file a
// first start writes) name the server.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const base = process.env.CARDINAL_BASE_URL;
const credentials = JSON.parse(readFileSync(process.env.CARDINAL_CREDENTIALS, 'utf8'));
const owner = credentials.owner_access_token;
const admin = credentials.control_api_admin_token;

const realFetch = globalThis.fetch;
const seen = [];
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === 'string' ? input : input.url);
  if (url.hostname.endsWith('qonto.com') || url.hostname.endsWith('qonto.co')) {
    const target = new URL(url.pathname + url.search, base);
    seen.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
    return realFetch(target, init);
  }
  return realFetch(input, init);
};

const server = await import('@qonto/embed-sdk/server');

async function cardinal(method, path, { token = owner, body } = {}) {
  const response = await realFetch(new URL(path, base), {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

let account;
let paidTransactionId;
before(async () => {
  const organization = await cardinal('GET', '/v2/organization');
  assert.equal(organization.status, 200);
  account = organization.body.organization.bank_accounts[0];
  // A card payment, so there is a transaction to list and show.
  const paid = await cardinal('POST', `/_sandbox/cards/${credentials.card_id}/authorizations`, {
    token: admin,
    body: { amount: 12.34, channel: 'online', merchant: { name: 'SNCF', category: 'transport', country: 'FR' } },
  });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  paidTransactionId = paid.body.authorization.transaction_id;
});

const operationSettings = () => ({ accessToken: owner });

function assertSerializedCard(card) {
  assert.match(card.id, /^[0-9a-f-]{36}$/);
  for (const date of ['lastActivityAt', 'createdAt', 'updatedAt']) {
    // A null would become 1970-01-01 here: Qonto never sends one for these (spec §2.1).
    assert.ok(card[date] instanceof Date && card[date].getTime() > 0, `${date} is a real date: ${card[date]}`);
  }
  assert.ok(Number.isInteger(card.paymentMonthlyLimit), 'limits are whole euros');
  assert.ok(Number.isInteger(card.expMonth) && Number.isInteger(card.expYear));
  assert.equal(card.cardType, 'debit');
}

test('server side: cards.getCards and cards.getCard', async () => {
  const cards = await server.cards.getCards({ operationSettings: operationSettings() });
  assert.ok(cards.length >= 1);
  cards.forEach(assertSerializedCard);
  const card = await server.cards.getCard({
    cardSettings: { cardId: credentials.card_id },
    operationSettings: operationSettings(),
  });
  assert.equal(card.id, credentials.card_id);
  assertSerializedCard(card);
});

test('server side: organizations.getOrganization and getBankAccounts (trailing slashes)', async () => {
  const organization = await server.organizations.getOrganization({ operationSettings: operationSettings() });
  assert.equal(organization.id, credentials.organization.id);
  assert.equal(organization.legalName, credentials.organization.legal_name);
  assert.equal(organization.bankAccounts[0].iban, account.iban);
  const accounts = await server.organizations.getBankAccounts({ operationSettings: operationSettings() });
  assert.equal(accounts[0].iban, account.iban);
  assert.ok(accounts[0].updatedAt instanceof Date && !Number.isNaN(accounts[0].updatedAt.getTime()));
  assert.ok(seen.includes('GET /v2/organization/') && seen.includes('GET /v2/bank_accounts/'), seen.join('\n'));
});

test('server side: transactions.getTransactions with date filters, and getTransaction', async () => {
  const today = new Date().toISOString().slice(0, 10);
  const listed = await server.transactions.getTransactions({
    transactionSettings: { bankAccountId: account.id, emittedAtFrom: '2000-01-01', updatedAtTo: '2999-12-31', status: 'pending' },
    operationSettings: { ...operationSettings(), paginationSettings: { page: 1, itemsPerPage: 10 } },
  });
  assert.ok(listed.transactions.some((t) => t.id === paidTransactionId), `the payment of ${today} is listed`);
  assert.equal(listed.meta.currentPage, 1);
  assert.equal(listed.meta.itemsPerPage, 10);
  const none = await server.transactions.getTransactions({
    transactionSettings: { bankAccountId: account.id, emittedAtTo: '2000-01-01' },
    operationSettings: operationSettings(),
  });
  assert.equal(none.transactions.length, 0);
  const shown = await server.transactions.getTransaction({
    transactionSettings: { transactionId: paidTransactionId },
    operationSettings: operationSettings(),
  });
  assert.equal(shown.id, paidTransactionId);
});

test('server side: an unknown card is an SDK error carrying Cardinal\'s answer', async () => {
  await assert.rejects(
    server.cards.getCard({ cardSettings: { cardId: '00000000-0000-4000-8000-000000000000' }, operationSettings: operationSettings() }),
    (error) => error.constructor.name.includes('Error'),
  );
});

// The integrator's backend, as Qonto's proxy guide describes it: decode the call the SDK
// prepared, add the access token, call the API, and send back the encoded answer.
async function proxyRequestFunction(encoded) {
  const call = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  // The SDK in the browser has no token: it sends a placeholder the backend replaces.
  const headers = Object.fromEntries(Object.entries(call.headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
  headers.Authorization = `Bearer ${owner}`;
  const response = await realFetch(new URL(call.path, base), {
    method: call.method,
    headers,
    body: call.payload ? JSON.stringify(call.payload) : undefined,
  });
  const body = await response.json();
  return Buffer.from(JSON.stringify({ status: response.status, body }), 'utf8').toString('base64');
}

test('client side through proxyRequestFunction: cards and transactions', async () => {
  const { cards } = await import('@qonto/embed-sdk/cards');
  const { transactions } = await import('@qonto/embed-sdk/transactions');
  const settings = { proxyRequestFunction };
  const listed = await cards.getCards({ operationSettings: settings });
  assert.ok(listed.length >= 1);
  listed.forEach(assertSerializedCard);
  const card = await cards.getCard({ cardSettings: { cardId: credentials.card_id }, operationSettings: settings });
  assert.equal(card.id, credentials.card_id);
  const page = await transactions.getTransactions({
    transactionSettings: { bankAccountId: account.id, settledAtFrom: '2000-01-01' },
    operationSettings: settings,
  });
  assert.ok(Array.isArray(page.transactions));
  const shown = await transactions.getTransaction({
    transactionSettings: { transactionId: paidTransactionId },
    operationSettings: settings,
  });
  assert.equal(shown.id, paidTransactionId);
});
