// A real OpenID Provider (panva/oidc-provider, OpenID Certified) for rolegate's end-to-end
// tests: rolegate's client, a workload's client (`deploy-pipeline`, which gets ID tokens of
// its own to trade at rolegate's STS) and two people with different groups, its development login and consent
// pages, RP-initiated logout. Listens on a free loopback port and prints
// `listening <issuer>` once ready. Settings come from the environment:
// CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI.
import http from 'node:http';
import Provider from 'oidc-provider';

const { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI } = process.env;
for (const [name, value] of Object.entries({ CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI })) {
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
}

const people = {
  alice: {
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice Admin',
    groups: ['rolegate-admins', 'platform-engineers', 'aws-345678901234-ReadOnly'],
  },
  bob: {
    email: 'bob@example.com',
    email_verified: true,
    name: 'Bob Builder',
    groups: ['developers', 'AWS_staging_ReadOnly', 'aws-123456789012-Developer'],
  },
};

// The workload's redirect URI is never fetched: the test reads the code from the redirect.
const WORKLOAD_REDIRECT_URI = 'http://127.0.0.1:9/deploy-pipeline/callback';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }, {
      client_id: 'deploy-pipeline',
      client_secret: CLIENT_SECRET,
      redirect_uris: [WORKLOAD_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: ['rolegate-e2e-cookie-key'] },
    async findAccount(ctx, id) {
      const person = people[id];
      if (!person) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...person }; } };
    },
  });
  // The provider's own warnings about development settings are expected here.
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});
