import { useState } from "preact/hooks";

import type { Store } from "../store.js";

export function Login({ store, ended, onDone }: { store: Store; ended: string | null; onDone: () => void }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [register, setRegister] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await store.login(name.trim().toLowerCase(), password, register);
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form onSubmit={submit} aria-label={register ? "Create an account" : "Sign in"}>
        <h1>Parley</h1>
        {ended !== null && <p class="note">You were signed out: {ended}.</p>}
        <label>
          User name
          <input
            name="name"
            autoComplete="username"
            required
            minLength={3}
            maxLength={32}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={register ? "new-password" : "current-password"}
            required
            minLength={8}
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {error !== null && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {register ? "Create account" : "Sign in"}
        </button>
        <button type="button" class="link" onClick={() => setRegister(!register)}>
          {register ? "I have an account" : "Create an account"}
        </button>
      </form>
    </main>
  );
}
