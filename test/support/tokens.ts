import request from 'supertest';

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** POST to the token endpoint as a confidential (secret) or public (client_id) client. */
export function tokenRequest(url: string, client: { clientId: string; clientSecret?: string | undefined }, body: Record<string, string>) {
  const req = request(url).post('/token').type('form');
  if (client.clientSecret) return req.set('authorization', basic(client.clientId, client.clientSecret)).send(body);
  return req.send({ ...body, client_id: client.clientId });
}
