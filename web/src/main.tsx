// The web client's entry: the store on the server this page came from, the theme, and the
// root component. Served by parleyd at /app/ (the WebSocket is /ws on the same origin).
import { render } from "preact";

import "./styles.css";
import { Store } from "./store.js";
import { applyTheme } from "./ui/theme.js";
import { App } from "./ui/App.js";

const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
const store = new Store(wsUrl);
applyTheme();
render(<App store={store} />, document.getElementById("root") as HTMLElement);
(globalThis as { parley?: Store }).parley = store; // for the browser tests and the curious
