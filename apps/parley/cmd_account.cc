// Account commands: register, login, logout, whoami, users.
//
// `login` is the only command that writes a new session; it keeps the cursor when the same
// user logs in again on the same device and server (so `sync` does not replay history).
#include <fmt/format.h>

#include <charconv>

#include "cli.h"
#include "protocol/json_writer.h"

namespace parley::cli {
namespace {

std::string UserJson(UserId id, const std::string& name) {
  JsonWriter w;
  w.BeginObject().Key("user").Uint(id).Key("name").String(name).EndObject();
  return w.Take();
}

struct PasswordArgs {
  std::string password;
  bool from_stdin = false;
};

void AddPasswordOptions(CLI::App* sub, PasswordArgs& p) {
  auto* pw =
      sub->add_option("--password", p.password, "the password (visible to ps; prefer stdin)");
  sub->add_flag("--password-stdin", p.from_stdin, "read the password from the first line of stdin")
      ->excludes(pw);
}

int Register(Cli& cli, const std::string& name, const PasswordArgs& p, const std::string& invite) {
  auto password = ReadPassword(p.password, p.from_stdin);
  if (!password.ok()) return cli.Usage(password.status().message());
  auto c = cli.Connect(cli.ServerUrl());
  if (!c.ok()) return cli.Fail(c.status());
  auto user = (*c)->Register(name, *password, invite);
  if (!user.ok()) return cli.Fail(user.status());
  cli.Out(cli.opts.json ? UserJson(user->id, user->name)
                        : fmt::format("registered {} (user {})", user->name, user->id));
  return kExitOk;
}

int Login(Cli& cli, const std::string& name, const PasswordArgs& p, std::string device) {
  auto password = ReadPassword(p.password, p.from_stdin);
  if (!password.ok()) return cli.Usage(password.status().message());
  auto previous = cli.store().Load();
  // An unreadable session file is replaced by the new login (it holds nothing we could use).
  client::SessionState old = previous.ok() ? *previous : client::SessionState{};
  const std::string url = cli.ServerUrl(&old);
  // Logging in again as the same user: reuse the device id rather than minting a new
  // device (and an empty sync cursor) every time.
  if (device.empty() && old.server == url && old.name == name) device = old.device;
  auto c = cli.Connect(url);
  if (!c.ok()) return cli.Fail(c.status());
  auto login = (*c)->Login(name, *password, device);
  if (!login.ok()) return cli.Fail(login.status());

  client::SessionState s;
  s.server = url;
  s.user = login->user;
  s.name = login->name;
  s.device = login->device;
  s.token = login->token;
  if (old.server == url && old.user == login->user && old.device == login->device) {
    s.cursor = old.cursor;  // same device: carry on where it was
    s.heads_since = old.heads_since;
    s.journal = old.journal;
  }
  if (Status st = cli.store().Save(s); !st.ok()) return cli.Fail(st);
  if (cli.opts.json) {
    JsonWriter w;
    w.BeginObject().Key("user").Uint(s.user).Key("name").String(s.name);
    w.Key("device").String(s.device).Key("server").String(s.server).EndObject();
    cli.Out(w.Take());
  } else {
    cli.Out(fmt::format("logged in as {} (user {}) on device {}", s.name, s.user, s.device));
  }
  return kExitOk;
}

int Logout(Cli& cli) {
  auto session = cli.OpenSession();
  if (!session.ok()) {
    // A token the server no longer accepts is as good as logged out: forget it.
    if (session.status().code() == Code::kUnauthenticated) {
      auto state = cli.store().Load();
      if (state.ok() && !state->token.empty()) {
        if (Status st = cli.store().Remove(); !st.ok()) return cli.Fail(st);
        cli.Note("the session was no longer valid; forgot it");
        return kExitOk;
      }
    }
    return cli.Fail(session.status());
  }
  if (Status st = session->client->Logout(); !st.ok()) return cli.Fail(st);
  if (Status st = cli.store().Remove(); !st.ok()) return cli.Fail(st);
  if (cli.opts.json) {
    cli.Out(R"({"ok":true})");
  } else {
    cli.Out(fmt::format("logged out {} (device {})", session->state.name, session->state.device));
  }
  return kExitOk;
}

// Offline: what the session file says.
int Whoami(Cli& cli) {
  auto state = cli.store().Load();
  if (!state.ok()) return cli.Fail(state.status());
  if (state->token.empty()) {
    return cli.Fail(Status(Code::kUnauthenticated, "not logged in (run: parley login NAME)"));
  }
  const std::string url = cli.ServerUrl(&*state);
  if (cli.opts.json) {
    JsonWriter w;
    w.BeginObject().Key("user").Uint(state->user).Key("name").String(state->name);
    w.Key("device").String(state->device).Key("server").String(url);
    w.Key("cursor").Uint(state->cursor).EndObject();
    cli.Out(w.Take());
  } else {
    cli.Out(fmt::format("{} (user {}) on device {} at {}; sync cursor {}", state->name, state->user,
                        state->device, url, state->cursor));
  }
  return kExitOk;
}

int Users(Cli& cli, const std::vector<std::string>& who) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  std::vector<UserId> ids;
  std::vector<std::string> names;
  for (const auto& w : who) {
    UserId id = 0;
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), id);
    if (ec == std::errc() && end == w.data() + w.size()) {
      ids.push_back(id);
    } else {
      names.push_back(w);
    }
  }
  auto users = session->client->Users(ids, names);
  if (!users.ok()) return cli.Fail(users.status());
  for (const auto& u : *users) {
    cli.Out(cli.opts.json ? UserJson(u.id, u.name) : fmt::format("{:>8}  {}", u.id, u.name));
  }
  if (users->size() < who.size()) {
    return cli.Fail(Status(Code::kNotFound, fmt::format("{} of {} users not found",
                                                        who.size() - users->size(), who.size())));
  }
  return kExitOk;
}

}  // namespace

void AddAccountCommands(CLI::App& app, Cli& cli) {
  {
    auto* sub = app.add_subcommand("register", "create an account");
    auto name = std::make_shared<std::string>();
    auto pw = std::make_shared<PasswordArgs>();
    auto invite = std::make_shared<std::string>();
    sub->add_option("NAME", *name, "3-32 characters of a-z 0-9 _ . - starting with a letter")
        ->required();
    AddPasswordOptions(sub, *pw);
    sub->add_option("--invite", *invite, "an invite token (servers with registration = invite)");
    cli.Command(sub, [&cli, name, pw, invite] { return Register(cli, *name, *pw, *invite); });
  }
  {
    auto* sub = app.add_subcommand("login", "log in and store the session in $PARLEY_HOME");
    auto name = std::make_shared<std::string>();
    auto device = std::make_shared<std::string>();
    auto pw = std::make_shared<PasswordArgs>();
    sub->add_option("NAME", *name, "user name")->required();
    AddPasswordOptions(sub, *pw);
    sub->add_option("--device", *device,
                    "device id (default: the stored one for this user, else a new one)");
    cli.Command(sub, [&cli, name, pw, device] { return Login(cli, *name, *pw, *device); });
  }
  cli.Command(app.add_subcommand("logout", "revoke this device's token and forget the session"),
              [&cli] { return Logout(cli); });
  cli.Command(app.add_subcommand("whoami", "show the stored session"),
              [&cli] { return Whoami(cli); });
  {
    auto* sub = app.add_subcommand("users", "look users up by name or id");
    auto who = std::make_shared<std::vector<std::string>>();
    sub->add_option("USER", *who, "names or ids")->required();
    cli.Command(sub, [&cli, who] { return Users(cli, *who); });
  }
}

}  // namespace parley::cli
