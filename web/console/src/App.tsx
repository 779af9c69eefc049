// The console's frame: sign-in, navigation (a drawer on a phone), the local virtual clock, and the page of the route.
import { AppShell, Badge, Burger, Button, Container, Group, NavLink, PasswordInput, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useEffect, useState, type FormEvent } from "react";

import { api, whenUnauthorized } from "./api";
import { credential, finishCognitoSignIn, forget, keyFromFragment, signInWithKey, signOut, startCognitoSignIn } from "./auth";
import { ErrorAlert, formatTime } from "./components/common";
import { CLOCK_MOVED } from "./clock";
import { config } from "./config";
import { useApi } from "./hooks";
import { routes } from "./pages/registry";
import { href, match, usePath } from "./router";

export function App() {
  const [signedIn, setSignedIn] = useState<boolean>(() => {
    keyFromFragment();
    return credential() !== null;
  });
  const [error, setError] = useState<Error>();
  useEffect(() => {
    whenUnauthorized(() => {
      forget();
      setSignedIn(false);
      setError(new Error("The API refused this credential (401): sign in again."));
    });
    const auth = config().auth;
    if (!signedIn && auth.kind === "cognito") {
      finishCognitoSignIn(auth)
        .then((done) => done && setSignedIn(true))
        .catch((failed: Error) => setError(failed));
    }
  }, [signedIn]);
  if (!signedIn) return <SignIn error={error} onSignedIn={() => setSignedIn(true)} />;
  return <Shell />;
}

function SignIn({ error, onSignedIn }: { error?: Error; onSignedIn: () => void }) {
  const auth = config().auth;
  const [key, setKey] = useState("");
  const [refused, setRefused] = useState<Error>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signInWithKey(key);
    // a cheap admin read proves the key before the console opens
    api
      .get("/v1/identity/settings")
      .then(onSignedIn)
      .catch((failed: Error) => {
        forget();
        setRefused(failed);
      });
  };
  return (
    <Container size={420} py={80} component="main">
      <Title order={1} size="h2" mb="xs">
        CxM console
      </Title>
      <ErrorAlert error={refused ?? error} title={refused ? "This key was refused" : undefined} />
      {auth.kind === "cognito" ? (
        <Stack>
          <Text>Sign in with your marketing team account.</Text>
          <Button onClick={() => void startCognitoSignIn(auth)}>Sign in</Button>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <Text>
              Sign in with the local admin key: <code>make dev</code> prints it, and its console link signs you in.
            </Text>
            <PasswordInput label="Admin key" value={key} onChange={(e) => setKey(e.currentTarget.value)} required autoComplete="off" />
            <Button type="submit">Sign in</Button>
          </Stack>
        </form>
      )}
    </Container>
  );
}

function Shell() {
  const [opened, { toggle, close }] = useDisclosure();
  const path = usePath();
  const local = Boolean(config().local);
  const visible = routes.filter((r) => r.nav && (local || !r.localOnly));
  let page = null;
  for (const route of routes) {
    if (route.localOnly && !local) continue;
    const params = match(route.pattern, path);
    if (params) {
      const Page = route.page;
      page = <Page key={path} params={params} />;
      break;
    }
  }
  useEffect(close, [path, close]);
  const section = "/" + (path.split("/")[1] ?? "");
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={700} component="a" href={href("/")} c="inherit" style={{ textDecoration: "none", whiteSpace: "nowrap" }}>
              CxM console
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {local ? <ClockBadge /> : null}
            <Button variant="subtle" size="xs" onClick={signOut} style={{ flex: "none" }}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Console sections">
        {visible.map((route) => (
          <NavLink
            key={route.pattern}
            href={href(route.pattern)}
            label={route.nav}
            active={route.pattern === "/" ? path === "/" : section === route.pattern}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        {page ?? (
          <Text>
            No page here. <a href={href("/")}>Back to the overview</a>.
          </Text>
        )}
      </AppShell.Main>
    </AppShell>
  );
}

function ClockBadge() {
  const clock = useApi<{ now: string }>("/_local/clock");
  const { reload } = clock;
  useEffect(() => {
    window.addEventListener(CLOCK_MOVED, reload);
    return () => window.removeEventListener(CLOCK_MOVED, reload);
  }, [reload]);
  if (!clock.data) return null;
  return (
    <Badge
      component="a"
      href={href("/clock")}
      variant="light"
      color="grape"
      visibleFrom="sm"
      style={{ cursor: "pointer", overflow: "visible" }}
      title="Virtual clock of the local cloud"
    >
      {formatTime(clock.data.now)}
    </Badge>
  );
}
