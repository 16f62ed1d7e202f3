// Attachments: `send --file` (upload, then a `file` or `image` message) and `get` (download).
// The bytes travel over parleyd's HTTP API (docs/protocol.md §7, client/attachment_transfer.h)
// with the stored device token; the message goes through the same send path as text.
//
// An upload cut short (Ctrl-C, a lost network) is remembered in $PARLEY_HOME/uploads, so
// sending the same file to the same conversation again continues it; a download leaves
// FILE.part, which `get` continues.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "cli.h"
#include "client/attachment_transfer.h"
#include "client/random_id.h"
#include "format.h"
#include "model/names.h"
#include "progress.h"
#include "protocol/decode.h"
#include "protocol/json_writer.h"
#include "send_path.h"

namespace parley::cli {
namespace {

// What the server is told the file is; it trusts only the bytes (an image is an image by
// its magic bytes), so a guess from the extension is enough.
std::string MimeOf(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},     {".png", "image/png"},
      {".gif", "image/gif"},  {".webp", "image/webp"},     {".pdf", "application/pdf"},
      {".txt", "text/plain"}, {".mp4", "video/mp4"},       {".mp3", "audio/mpeg"},
      {".ogg", "audio/ogg"},  {".zip", "application/zip"}, {".json", "application/json"},
  };
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [suffix, type] : kTypes) {
    if (ext == suffix) return type;
  }
  return "application/octet-stream";
}

Result<client::TransferTarget> TargetOf(const Cli& cli, const client::SessionState& state) {
  if (state.token.empty()) {
    return Status(Code::kUnauthenticated, "not logged in (run: parley login NAME)");
  }
  return client::TargetForServer(cli.ServerUrl(&state), state.token, cli.CaFile());
}

void PrintSent(Cli& cli, const client::AttachmentInfo& a, MessageKind kind, const SendAck& ack) {
  if (!cli.opts.json) {
    cli.Out(fmt::format("uploaded {} ({}, {}, {})", SafeText(a.id), SafeText(a.name),
                        HumanBytes(a.size), SafeText(a.kind)));
    PrintSendAck(cli, ack);
    return;
  }
  JsonWriter w;
  w.BeginObject()
      .Key("attachment")
      .String(a.id)
      .Key("kind")
      .String(std::string(MessageKindName(kind)));
  w.Key("size").Uint(a.size).Key("sha256").String(a.sha256);
  w.Key("conv").Uint(ack.conv_id).Key("seq").Uint(ack.seq).Key("msg_id").Uint(ack.msg_id);
  w.Key("ts").Int(ack.server_ms).Key("duplicate").Bool(ack.duplicate).EndObject();
  cli.Out(w.Take());
}

int Get(Cli& cli, const std::string& id, const std::string& out, bool thumbnail) {
  auto state = cli.store().Load();
  if (!state.ok()) return cli.Fail(state.status());
  auto target = TargetOf(cli, *state);
  if (!target.ok()) return cli.Fail(target.status());
  ProgressLine progress("get " + std::filesystem::path(out).filename().string(), !cli.opts.json);
  client::DownloadOptions options;
  options.thumbnail = thumbnail;
  options.progress = [&progress](uint64_t done, uint64_t total) { progress.Update(done, total); };
  auto got = client::DownloadAttachment(*target, id, out, options);
  progress.Finish();
  if (!got.ok()) return cli.Fail(got.status());
  if (cli.opts.json) {
    JsonWriter w;
    w.BeginObject().Key("id").String(id).Key("path").String(out).Key("bytes").Uint(got->bytes);
    w.Key("sha256").String(got->sha256).Key("verified").Bool(got->verified);
    w.Key("resumed").Bool(got->resumed).EndObject();
    cli.Out(w.Take());
  } else {
    cli.Out(fmt::format("saved {}: {} bytes, sha256 {}{}", out, got->bytes, got->sha256,
                        got->verified ? " (verified)" : ""));
  }
  return kExitOk;
}

}  // namespace

int SendFile(Cli& cli, const SendFileArgs& a) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  ConvId conv = a.conv;
  if (!a.to.empty()) {  // file kinds take no `to`: open the direct conversation first
    auto direct = session->client->OpenDirect(UserArgOf(a.to));
    if (!direct.ok()) return cli.Fail(direct.status());
    conv = direct->id;
  }
  auto target = TargetOf(cli, session->state);
  if (!target.ok()) return cli.Fail(target.status());

  ProgressLine progress("send " + std::filesystem::path(a.path).filename().string(),
                        !cli.opts.json);
  client::UploadOptions options;
  options.journal_dir = cli.Home() + "/uploads";
  options.progress = [&progress](uint64_t done, uint64_t total) { progress.Update(done, total); };
  auto info = client::UploadFile(*target, conv, a.path, MimeOf(a.path), options);
  progress.Finish();
  if (!info.ok()) return cli.Fail(info.status());

  const MessageKind kind =
      a.image || info->kind == "image" ? MessageKind::kImage : MessageKind::kFile;
  const std::string body = client::AttachmentSendBody({info->id}, a.caption);
  const std::string cmid = client::NewClientMsgId();  // the same for every retry
  auto ack = SendWithRetries(cli, *session, [&](client::BlockingClient& c, int64_t* retry_after) {
    client::OutgoingMessage m;
    m.conv = conv;
    m.kind = kind;
    m.body = body;
    m.client_msg_id = cmid;
    return c.SendMessage(m, retry_after);
  });
  if (!ack.ok()) {
    cli.Note("the file was uploaded as attachment " + info->id + " but not sent");
    return cli.Fail(ack.status());
  }
  PrintSent(cli, *info, kind, *ack);
  return kExitOk;
}

void AddAttachmentCommands(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand("get", "download an attachment (continues FILE.part)");
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto thumbnail = std::make_shared<bool>(false);
  sub->add_option("ATTACHMENT_ID", *id, "the id (32 hex digits) a file or image message shows")
      ->required();
  sub->add_option("-o,--output", *out, "the file to write")->required();
  sub->add_flag("--thumbnail", *thumbnail, "the image's thumbnail (WebP) instead of the file");
  cli.Command(sub, [&cli, id, out, thumbnail] { return Get(cli, *id, *out, *thumbnail); });
}

}  // namespace parley::cli
