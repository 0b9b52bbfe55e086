/**
 * A fake EC2 instance metadata service that behaves like an instance with
 * `HttpTokens=required` (IMDSv2 only), with switchable faults.
 *
 * @module
 */

/** Faults the fake can be switched to. */
export type ImdsFault =
  | "none"
  | "hang" // accept every request, never answer
  | "500" // every request fails with 500
  | "no-document" // the identity document is 404
  | "no-v2" // the token PUT is 403, as an IMDS without v2 support would answer
  | "credentials-hang" // role credentials never answer
  | "token-unanswered-v1-open" // hop limit 1: the token PUT never answers, IMDSv1 GETs would
  | "endless"; // every GET streams a body that never ends

/** The identity document the fake serves. */
export const FAKE_DOCUMENT = {
  accountId: "123456789012",
  architecture: "x86_64",
  availabilityZone: "us-east-1a",
  imageId: "ami-0abcdef1234567890",
  instanceId: "i-0123456789abcdef0",
  instanceType: "t3.micro",
  pendingTime: "2026-11-01T00:00:00Z",
  privateIp: "10.0.0.12",
  region: "us-east-1",
  version: "2017-09-30",
};

/** The instance role's credentials the fake hands out. */
export const FAKE_ROLE = {
  name: "tattle-test-role",
  accessKeyId: "ASIAFAKEROLEKEY00001",
  secretAccessKey: "fake/role/secret/key/0000000000000000000",
  token: "fake-role-session-token",
};

/** A running fake IMDS. */
export interface FakeImds extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  fault: ImdsFault;
  /** Identity document served (mutable per test). */
  document: Record<string, unknown>;
  /** Every request as `METHOD path`. */
  readonly requests: string[];
  /** GETs that carried no token, as `GET path`: an IMDSv1 request. */
  readonly v1Requests: string[];
  /** Tokens issued so far. */
  readonly tokens: Set<string>;
}

/** Starts a fake IMDS on 127.0.0.1 with an ephemeral port. */
export function startFakeImds(): FakeImds {
  const hung: Array<() => void> = [];
  const state = {
    fault: "none" as ImdsFault,
    document: { ...FAKE_DOCUMENT } as Record<string, unknown>,
    requests: [] as string[],
    v1Requests: [] as string[],
    tokens: new Set<string>(),
  };
  const never = () =>
    new Promise<Response>((resolve) =>
      hung.push(() => resolve(new Response(null, { status: 503 })))
    );

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    state.requests.push(`${request.method} ${path}`);
    if (state.fault === "hang") return never();
    if (state.fault === "500") return text("internal error", 500);
    const token = request.headers.get("x-aws-ec2-metadata-token");
    if (request.method === "GET" && token === null) state.v1Requests.push(`GET ${path}`);
    if (state.fault === "token-unanswered-v1-open") {
      if (path === "/latest/api/token") return never();
      return text("IMDSv1 answer", 200); // what a v1-open instance would give away
    }
    if (state.fault === "endless" && request.method === "GET") return endless();

    if (path === "/latest/api/token") {
      if (request.method !== "PUT") return text("Method Not Allowed", 405);
      if (state.fault === "no-v2") return text("Forbidden", 403);
      const ttl = Number(request.headers.get("x-aws-ec2-metadata-token-ttl-seconds"));
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text("Bad Request", 400);
      const token = `token-${crypto.randomUUID()}`;
      state.tokens.add(token);
      return text(token, 200, { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) });
    }
    if (request.method !== "GET") return text("Method Not Allowed", 405);
    // HttpTokens=required: every read needs a token this IMDS issued.
    if (!state.tokens.has(request.headers.get("x-aws-ec2-metadata-token") ?? "")) {
      return text("Unauthorized", 401);
    }
    const credentialsPath = "/latest/meta-data/iam/security-credentials/";
    if (path === "/latest/dynamic/instance-identity/document") {
      if (state.fault === "no-document") return text("Not Found", 404);
      return text(JSON.stringify(state.document, null, 2), 200);
    }
    if (path.startsWith(credentialsPath) && state.fault === "credentials-hang") return never();
    if (path === credentialsPath) return text(FAKE_ROLE.name, 200);
    if (path === credentialsPath + FAKE_ROLE.name) {
      const now = Date.now();
      return text(
        JSON.stringify({
          Code: "Success",
          LastUpdated: new Date(now).toISOString(),
          Type: "AWS-HMAC",
          AccessKeyId: FAKE_ROLE.accessKeyId,
          SecretAccessKey: FAKE_ROLE.secretAccessKey,
          Token: FAKE_ROLE.token,
          Expiration: new Date(now + 6 * 3600_000).toISOString(),
        }),
        200,
      );
    }
    return text("Not Found", 404);
  });

  return Object.assign(state, {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      hung.splice(0).forEach((release) => release());
      await server.shutdown();
    },
  }) as FakeImds;
}

/** A 200 whose body never ends (1 KiB chunks as fast as the reader takes them). */
function endless(): Response {
  const chunk = new TextEncoder().encode("x".repeat(1024));
  return new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }), { status: 200 });
}

function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });
}
