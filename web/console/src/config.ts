// What the console learns at start from config.json beside index.html: where the admin API is and how marketers
// sign in. The local cloud answers {"apiUrl": "", "auth": {"kind": "adminKey"}, "local": true}; the CDK stack
// deploys the API's URL and the Cognito user pool's domain and app client.
export interface CognitoAuth {
  kind: "cognito";
  domain: string; // https://<prefix>.auth.<region>.amazoncognito.com
  clientId: string;
  userPoolId?: string;
  region?: string;
}

export interface AdminKeyAuth {
  kind: "adminKey";
}

export interface ConsoleConfig {
  apiUrl: string;
  auth: CognitoAuth | AdminKeyAuth;
  local?: boolean;
}

let loaded: ConsoleConfig | null = null;

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(new URL("config.json", document.baseURI).href, { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const raw = (await response.json()) as Partial<ConsoleConfig>;
  loaded = {
    apiUrl: (raw.apiUrl ?? "").replace(/\/$/, ""),
    auth: raw.auth ?? { kind: "adminKey" },
    local: Boolean(raw.local),
  };
  return loaded;
}

export function config(): ConsoleConfig {
  if (!loaded) throw new Error("config.json is not loaded yet");
  return loaded;
}
