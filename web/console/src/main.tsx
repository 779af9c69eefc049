import "@mantine/core/styles.css";
import "@mantine/charts/styles.css";
import "@xyflow/react/dist/style.css";
import "./styles.css";

import { MantineProvider, createTheme, type CSSVariablesResolver } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { loadConfig } from "./config";

const theme = createTheme({
  primaryColor: "indigo",
  // indigo 6 (#4c6ef5) under white button text and as a link colour is 4.3:1, below WCAG AA (axe: color-contrast)
  primaryShade: 8,
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
});

// Mantine's dimmed grey (#868e96) and its error red (#fa5252, input errors) are 3.3:1 on white, below WCAG AA's
// 4.5:1 for body text (axe: color-contrast); these are 5.9:1 and 5.6:1.
const variables: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": "#5c636b", "--mantine-color-error": "#c92a2a" },
  dark: {},
});

const root = createRoot(document.getElementById("root")!);

loadConfig()
  .then(() =>
    root.render(
      <StrictMode>
        <MantineProvider theme={theme} defaultColorScheme="light" cssVariablesResolver={variables}>
          <App />
        </MantineProvider>
      </StrictMode>,
    ),
  )
  .catch((error: Error) => {
    root.render(<p role="alert">The console could not start: {error.message}</p>);
  });
