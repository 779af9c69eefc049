// Who the console calls the admin API as. Locally: the local admin key (typed in, or passed in the URL's fragment
// by `make dev`'s link: never sent to a server in a URL). In AWS: a Cognito user pool token from the hosted sign-in
// page (authorization code with PKCE; no client secret and no long-lived key in the browser).
import { config, type CognitoAuth } from "./config";

const KEY = "cxm.console.credential";
const VERIFIER = "cxm.console.pkce";

interface Credential {
  token: string;
  expiresAt?: number; // ms since the epoch (tokens); admin keys do not expire
}

export function credential(): string | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const found = JSON.parse(raw) as Credential;
    if (found.expiresAt && found.expiresAt < Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return found.token;
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function signInWithKey(key: string): void {
  sessionStorage.setItem(KEY, JSON.stringify({ token: key.trim() } satisfies Credential));
}

/** Drop the credential (the API refused it): the console shows the sign-in again. */
export function forget(): void {
  sessionStorage.removeItem(KEY);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  const auth = config().auth;
  if (auth.kind === "cognito") {
    const back = redirectUri();
    window.location.assign(`${auth.domain}/logout?client_id=${encodeURIComponent(auth.clientId)}&logout_uri=${encodeURIComponent(back)}`);
  } else {
    window.location.reload();
  }
}

function redirectUri(): string {
  return new URL(".", document.baseURI).href;
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function startCognitoSignIn(auth: CognitoAuth): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(VERIFIER, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: redirectUri(),
    scope: "openid email profile",
    code_challenge_method: "S256",
    code_challenge: challenge,
    state,
  });
  window.location.assign(`${auth.domain}/oauth2/authorize?${query}`);
}

/** After the hosted sign-in page sends the marketer back with ?code=…: trade it for tokens. */
export async function finishCognitoSignIn(auth: CognitoAuth): Promise<boolean> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  const saved = sessionStorage.getItem(VERIFIER);
  if (!code || !saved) return false;
  sessionStorage.removeItem(VERIFIER);
  const { verifier, state } = JSON.parse(saved) as { verifier: string; state: string };
  if (params.get("state") !== state) throw new Error("The sign-in answer does not match the request (state).");
  const response = await fetch(`${auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier,
    }),
  });
  if (!response.ok) throw new Error(`Signing in failed (${response.status}).`);
  const tokens = (await response.json()) as { access_token: string; expires_in: number };
  const stored: Credential = { token: tokens.access_token, expiresAt: Date.now() + tokens.expires_in * 1000 - 30_000 };
  sessionStorage.setItem(KEY, JSON.stringify(stored));
  window.history.replaceState(null, "", redirectUri() + window.location.hash);
  return true;
}

/** `make dev` prints /console/#key=ak_…: take the key from the fragment and drop it from the address bar. */
export function keyFromFragment(): void {
  const match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
  if (!match) return;
  signInWithKey(decodeURIComponent(match[1]));
  window.history.replaceState(null, "", window.location.pathname + "#/");
}
