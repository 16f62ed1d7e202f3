// Conversation commands: convs, and the `group` family (create, add, remove, leave,
// members, rename, role).
#include <fmt/format.h>

#include "cli.h"
#include "directory.h"
#include "format.h"
#include "protocol/encode.h"

namespace parley::cli {
namespace {

std::vector<client::UserArg> UserArgsOf(const std::vector<std::string>& v) {
  std::vector<client::UserArg> out;
  for (const auto& s : v) out.push_back(UserArgOf(s));
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

int Convs(Cli& cli) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  auto convs = session->client->Convs();
  if (!convs.ok()) return cli.Fail(convs.status());
  if (cli.opts.json) {
    for (const auto& s : *convs) cli.Out(SummaryJson(s));
    return kExitOk;
  }
  Directory dir([&] { return session->client.get(); }, session->state.user);
  std::vector<UserId> ids;
  for (const auto& s : *convs) {
    ids.push_back(s.peer);
    if (s.last_message) ids.push_back(s.last_message->sender);
  }
  dir.Prefetch(ids);
  const int64_t now = NowMs();
  for (const auto& s : *convs) {
    std::string name = s.conv.kind == ConvKind::kGroup
                           ? fmt::format("{} ({} members)", s.conv.title, s.conv.member_count)
                           : dir.UserName(s.peer);
    std::string last = s.last_message ? FormatTime(s.last_message->server_ms, now) + "  " +
                                            FormatMessageBody(*s.last_message,
                                                              dir.UserName(s.last_message->sender))
                                      : "(no messages)";
    std::string unread = s.unread ? fmt::format("{} unread", s.unread) : "";
    // One line per conversation: long bodies are cut (history shows them whole).
    if (last.size() > 100) last = last.substr(0, 97) + "...";
    cli.Out(fmt::format("#{:<6} {:<28} {:>10}  {}", s.conv.id, SafeText(name), unread, last));
  }
  return kExitOk;
}

int Create(Cli& cli, const std::string& title, const std::vector<std::string>& members) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  auto conv = session->client->CreateGroup(title, UserArgsOf(members));
  if (!conv.ok()) return cli.Fail(conv.status());
  cli.Out(cli.opts.json ? ConversationJson(*conv)
                        : fmt::format("created group #{} \"{}\" with {} members", conv->id,
                                      SafeText(conv->title), conv->member_count));
  return kExitOk;
}

int Add(Cli& cli, ConvId conv, const std::vector<std::string>& users) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (Status st = session->client->AddMembers(conv, UserArgsOf(users)); !st.ok()) {
    return cli.Fail(st);
  }
  cli.Out(cli.opts.json ? R"({"ok":true})"
                        : fmt::format("added {} to #{}", SafeText(Join(users)), conv));
  return kExitOk;
}

int Remove(Cli& cli, ConvId conv, const std::string& user) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (Status st = session->client->RemoveMember(conv, UserArgOf(user)); !st.ok()) {
    return cli.Fail(st);
  }
  cli.Out(cli.opts.json ? R"({"ok":true})"
                        : fmt::format("removed {} from #{}", SafeText(user), conv));
  return kExitOk;
}

int Leave(Cli& cli, ConvId conv) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (Status st = session->client->Leave(conv); !st.ok()) return cli.Fail(st);
  cli.Out(cli.opts.json ? R"({"ok":true})" : fmt::format("left #{}", conv));
  return kExitOk;
}

int Members(Cli& cli, ConvId conv) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  auto members = session->client->Members(conv);
  if (!members.ok()) return cli.Fail(members.status());
  if (cli.opts.json) {
    for (const auto& m : *members) cli.Out(MemberJson(m));
    return kExitOk;
  }
  Directory dir([&] { return session->client.get(); }, session->state.user);
  std::vector<UserId> ids;
  for (const auto& m : *members) ids.push_back(m.user_id);
  dir.Prefetch(ids);
  const int64_t now = NowMs();
  for (const auto& m : *members) {
    cli.Out(fmt::format("{:<24} {:<7} joined {}", SafeText(dir.UserName(m.user_id)),
                        RoleName(m.role), FormatTime(m.joined_ms, now)));
  }
  return kExitOk;
}

int Rename(Cli& cli, ConvId conv, const std::string& title) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (Status st = session->client->Rename(conv, title); !st.ok()) return cli.Fail(st);
  cli.Out(cli.opts.json ? R"({"ok":true})"
                        : fmt::format("renamed #{} to \"{}\"", conv, SafeText(title)));
  return kExitOk;
}

int Role(Cli& cli, ConvId conv, const std::string& user, const std::string& role) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (Status st = session->client->SetRole(conv, UserArgOf(user), role); !st.ok()) {
    return cli.Fail(st);
  }
  cli.Out(cli.opts.json ? R"({"ok":true})"
                        : fmt::format("{} is now {} of #{}", SafeText(user), role, conv));
  return kExitOk;
}

}  // namespace

void AddConvCommands(CLI::App& app, Cli& cli) {
  cli.Command(app.add_subcommand("convs", "list your conversations, most recent first"),
              [&cli] { return Convs(cli); });

  auto* group = app.add_subcommand("group", "group conversations");
  group->require_subcommand(1);
  {
    auto* sub = group->add_subcommand("create", "create a group you own");
    auto title = std::make_shared<std::string>();
    auto members = std::make_shared<std::vector<std::string>>();
    sub->add_option("TITLE", *title, "the group's title")->required();
    sub->add_option("--members", *members, "members besides you, comma-separated names or ids")
        ->delimiter(',');
    cli.Command(sub, [&cli, title, members] { return Create(cli, *title, *members); });
  }
  {
    auto* sub = group->add_subcommand("add", "add members (owner or admin)");
    auto conv = std::make_shared<ConvId>(0);
    auto users = std::make_shared<std::vector<std::string>>();
    sub->add_option("CONV", *conv, "conversation id")->required();
    sub->add_option("USER", *users, "names or ids")->required();
    cli.Command(sub, [&cli, conv, users] { return Add(cli, *conv, *users); });
  }
  {
    auto* sub = group->add_subcommand("remove", "remove a member");
    auto conv = std::make_shared<ConvId>(0);
    auto user = std::make_shared<std::string>();
    sub->add_option("CONV", *conv, "conversation id")->required();
    sub->add_option("USER", *user, "name or id")->required();
    cli.Command(sub, [&cli, conv, user] { return Remove(cli, *conv, *user); });
  }
  {
    auto* sub = group->add_subcommand("leave", "leave a group");
    auto conv = std::make_shared<ConvId>(0);
    sub->add_option("CONV", *conv, "conversation id")->required();
    cli.Command(sub, [&cli, conv] { return Leave(cli, *conv); });
  }
  {
    auto* sub = group->add_subcommand("members", "list the members");
    auto conv = std::make_shared<ConvId>(0);
    sub->add_option("CONV", *conv, "conversation id")->required();
    cli.Command(sub, [&cli, conv] { return Members(cli, *conv); });
  }
  {
    auto* sub = group->add_subcommand("rename", "change the title (owner or admin)");
    auto conv = std::make_shared<ConvId>(0);
    auto title = std::make_shared<std::string>();
    sub->add_option("CONV", *conv, "conversation id")->required();
    sub->add_option("TITLE", *title, "the new title")->required();
    cli.Command(sub, [&cli, conv, title] { return Rename(cli, *conv, *title); });
  }
  {
    auto* sub = group->add_subcommand("role", "make a member admin or plain member (owner)");
    auto conv = std::make_shared<ConvId>(0);
    auto user = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>();
    sub->add_option("CONV", *conv, "conversation id")->required();
    sub->add_option("USER", *user, "name or id")->required();
    sub->add_option("ROLE", *role, "admin or member")
        ->required()
        ->check(CLI::IsMember({"admin", "member"}));
    cli.Command(sub, [&cli, conv, user, role] { return Role(cli, *conv, *user, *role); });
  }
}

}  // namespace parley::cli
