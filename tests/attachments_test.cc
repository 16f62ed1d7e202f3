// Attachments end to end (docs/protocol.md §7) on a real parleyd: resumable uploads over
// HTTP, file and image messages, downloads with ranges and per-conversation access,
// thumbnails and a decompression bomb, quota, size and hash errors, recall, a kill -9 in
// the middle of an upload — on the local store, and the same path on radosgw (Ceph's S3
// gateway) with the presigned redirect.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "client/http_request.h"
#include "client/url.h"
#include "media/thumbnail.h"
#include "s3/s3_client.h"
#include "s3/sigv4.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/radosgw_server.h"
#include "tests/support/test_images.h"

namespace parley {
namespace {

using client::HttpResponse;
using client::UserArg;
using nlohmann::json;
using testing::GatewayFixture;
namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1 << 20;
// Small parts, a small quota and file limit, no collector: every limit is reachable.
constexpr char kConfig[] =
    "[attachments]\npart_mb = 5\nmax_file_mb = 30\nquota_mb = 40\ncollect_every_s = 0\n";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

using s3::Sha256Hex;

// A user's device: its WebSocket client and its token for HTTP.
struct Person {
  std::unique_ptr<client::BlockingClient> ws;
  std::string token;
  UserId id = 0;
};

class AttachmentsTest : public GatewayFixture {
 protected:
  void SetUp() override { StartServer(kConfig); }

  void StartServer(const std::string& extra) {
    GatewayFixture::StartServer(extra);
    ASSERT_TRUE(media::InitMedia().ok());
  }

  Person Join(const std::string& name) {
    Person p;
    LoginReply login;
    p.ws = Device(name, "laptop", &login);
    p.token = login.token;
    p.id = login.user;
    return p;
  }

  HttpResponse Http(const std::string& method, const std::string& path, const std::string& token,
                    std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    client::HttpRequestSpec spec;
    spec.port = server_->port();
    spec.method = method;
    spec.path = path;
    spec.body = std::move(body);
    spec.headers = std::move(headers);
    spec.timeout_s = 60;
    if (!token.empty()) spec.headers.emplace_back("Authorization", "Bearer " + token);
    auto r = client::HttpRequest(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  static std::string ErrorOf(const HttpResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "";
  }

  HttpResponse Create(const Person& p, ConvId conv, const std::string& bytes,
                      const std::string& mime = "application/x-test",
                      const std::string& name = "data.bin", std::string sha = "") {
    if (sha.empty()) sha = Sha256Hex(bytes);
    json spec = {
        {"conv", conv}, {"size", bytes.size()}, {"sha256", sha}, {"mime", mime}, {"name", name}};
    return Http("POST", "/v1/uploads", p.token, spec.dump());
  }

  HttpResponse Patch(const Person& p, const std::string& upload, uint64_t offset,
                     std::string part) {
    return Http("PATCH", "/v1/uploads/" + upload, p.token, std::move(part),
                {{"Upload-Offset", std::to_string(offset)},
                 {"Content-Type", "application/offset+octet-stream"}});
  }

  // Sends bytes[offset..] in parts of `part` bytes; the last reply.
  HttpResponse SendFrom(const Person& p, const std::string& upload, const std::string& bytes,
                        uint64_t offset, uint64_t part) {
    HttpResponse last;
    for (uint64_t at = offset; at < bytes.size(); at += part) {
      last = Patch(p, upload, at, bytes.substr(at, part));
      if (last.status != 204) return last;
      EXPECT_EQ(last.Header("Upload-Offset"),
                std::to_string(std::min<uint64_t>(at + part, bytes.size())));
    }
    return last;
  }

  // The whole upload; the attachment JSON (empty on failure).
  json Upload(const Person& p, ConvId conv, const std::string& bytes,
              const std::string& mime = "application/x-test",
              const std::string& name = "data.bin") {
    HttpResponse created = Create(p, conv, bytes, mime, name);
    EXPECT_EQ(created.status, 201) << created.body;
    if (created.status != 201) return {};
    json up = json::parse(created.body);
    const std::string id = up["upload_id"];
    HttpResponse sent = SendFrom(p, id, bytes, 0, up["part_bytes"].get<uint64_t>());
    EXPECT_EQ(sent.status, 204) << sent.body;
    HttpResponse done = Http("POST", "/v1/uploads/" + id + "/complete", p.token);
    EXPECT_EQ(done.status, 200) << done.body;
    if (done.status != 200) return {};
    return json::parse(done.body)["attachment"];
  }

  Result<SendAck> SendFile(Person& p, ConvId conv, const std::string& id,
                           MessageKind kind = MessageKind::kFile, const std::string& cmid = "") {
    client::OutgoingMessage m;
    m.conv = conv;
    m.kind = kind;
    m.body = json({{"attachments", {id}}, {"caption", "look"}}).dump();
    m.client_msg_id = cmid;
    return p.ws->SendMessage(m);
  }
};

TEST_F(AttachmentsTest, UploadSendDownloadWithRangesAndAccessRules) {
  Person alice = Join("alice"), bob = Join("bob"), carol = Join("carol"), dave = Join("dave");
  auto group = alice.ws->CreateGroup("trip", {UserArg("bob"), UserArg("carol")});
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  const ConvId conv = group->id;
  const std::string bytes = RandomBytes(12 * kMiB + 12345, 1);

  // Create, a part at the wrong offset (nothing changes), resume from HEAD, complete.
  HttpResponse created = Create(alice, conv, bytes, "text/html", "page <1>.html");
  ASSERT_EQ(created.status, 201) << created.body;
  json up = json::parse(created.body);
  const std::string upload = up["upload_id"];
  EXPECT_EQ(up["part_bytes"], 5 * kMiB);
  HttpResponse wrong = Patch(alice, upload, 5 * kMiB, bytes.substr(0, 5 * kMiB));
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(ErrorOf(wrong), "offset_mismatch");
  EXPECT_EQ(json::parse(wrong.body)["offset"], 0);
  ASSERT_EQ(Patch(alice, upload, 0, bytes.substr(0, 5 * kMiB)).status, 204);
  HttpResponse head = Http("HEAD", "/v1/uploads/" + upload, alice.token);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Upload-Offset"), std::to_string(5 * kMiB));
  EXPECT_EQ(head.Header("Upload-Length"), std::to_string(bytes.size()));
  // Someone else's upload id is nobody's.
  EXPECT_EQ(Http("HEAD", "/v1/uploads/" + upload, bob.token).status, 404);
  ASSERT_EQ(SendFrom(alice, upload, bytes, 5 * kMiB, 5 * kMiB).status, 204);
  HttpResponse done = Http("POST", "/v1/uploads/" + upload + "/complete", alice.token);
  ASSERT_EQ(done.status, 200) << done.body;
  json att = json::parse(done.body)["attachment"];
  const std::string id = att["id"];
  EXPECT_EQ(att["size"], bytes.size());
  EXPECT_EQ(att["sha256"], Sha256Hex(bytes));
  EXPECT_EQ(att["kind"], "file");
  EXPECT_EQ(Http("POST", "/v1/uploads/" + upload + "/complete", alice.token).status, 404);

  // Before it is sent only its owner sees it.
  EXPECT_EQ(Http("GET", "/v1/attachments/" + id, bob.token).status, 404);
  HttpResponse own = Http("GET", "/v1/attachments/" + id, alice.token);
  EXPECT_EQ(own.status, 200);
  EXPECT_TRUE(own.body == bytes);

  // A file message: every member gets the server's description.
  auto ack = SendFile(alice, conv, id);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  auto page = bob.ws->History(conv);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->messages.empty());
  const MessageRecord& m = page->messages.back();
  EXPECT_EQ(m.kind, MessageKind::kFile);
  json body = json::parse(m.body);
  EXPECT_EQ(body["caption"], "look");
  EXPECT_EQ(body["attachments"][0]["id"], id);
  EXPECT_EQ(body["attachments"][0]["name"], "page <1>.html");
  EXPECT_EQ(body["attachments"][0]["size"], bytes.size());

  // Bob downloads it whole and in ranges; HTML is never served as HTML.
  HttpResponse got =
      Http("GET", "/v1/attachments/" + id, bob.token, "", {{"X-Request-Id", "req-42"}});
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == bytes);
  EXPECT_EQ(got.Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(got.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(
      got.Header("Content-Disposition").starts_with("attachment; filename=\"page _1_.html\""))
      << got.Header("Content-Disposition");
  EXPECT_EQ(got.Header("ETag"), "\"" + Sha256Hex(bytes) + "\"");
  EXPECT_EQ(got.Header("X-Request-Id"), "req-42");
  HttpResponse part =
      Http("GET", "/v1/attachments/" + id, bob.token, "", {{"Range", "bytes=7340000-7340099"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(7340000, 100));
  EXPECT_EQ(part.Header("Content-Range"), "bytes 7340000-7340099/" + std::to_string(bytes.size()));
  HttpResponse tail = Http("GET", "/v1/attachments/" + id, bob.token, "", {{"Range", "bytes=-10"}});
  EXPECT_EQ(tail.body, bytes.substr(bytes.size() - 10));
  HttpResponse past = Http("GET", "/v1/attachments/" + id, bob.token, "",
                           {{"Range", "bytes=" + std::to_string(bytes.size()) + "-"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.Header("Content-Range"), "bytes */" + std::to_string(bytes.size()));
  HttpResponse info = Http("GET", "/v1/attachments/" + id + "/info", bob.token);
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(json::parse(info.body)["owner"], alice.id);

  // Non-members, removed members and strangers without a token get nothing.
  HttpResponse stranger = Http("GET", "/v1/attachments/" + id, dave.token);
  EXPECT_EQ(stranger.status, 403);
  EXPECT_EQ(ErrorOf(stranger), "not_member");
  EXPECT_EQ(Http("GET", "/v1/attachments/" + id, carol.token).status, 200);
  ASSERT_TRUE(alice.ws->RemoveMember(conv, UserArg("carol")).ok());
  EXPECT_EQ(Http("GET", "/v1/attachments/" + id, carol.token).status, 403);
  EXPECT_EQ(Http("GET", "/v1/attachments/" + id, "").status, 401);
  EXPECT_EQ(Http("GET", "/v1/attachments/" + id, "not-a-token").status, 401);
  EXPECT_EQ(Http("GET", "/v1/attachments/0123456789abcdef0123456789abcdef", bob.token).status, 404);
  EXPECT_EQ(Http("GET", "/v1/attachments/../../etc/passwd", bob.token).status, 404);

  // Only the uploader may send it, only to its conversation; not as an image.
  auto dm = bob.ws->OpenDirect(UserArg("alice"));
  ASSERT_TRUE(dm.ok());
  EXPECT_EQ(SendFile(bob, conv, id).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SendFile(alice, dm->id, id).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SendFile(alice, conv, id, MessageKind::kImage).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SendFile(alice, conv, "0123456789abcdef0123456789abcdef").status().code(),
            Code::kNotFound);

  // A recall removes the reference: members lose it, its owner keeps it until collected.
  ASSERT_TRUE(alice.ws->Recall(conv, ack->seq).ok());
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {  // the reference goes on the service's pool
    gone = Http("GET", "/v1/attachments/" + id + "/info", bob.token).status == 404;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(Http("GET", "/v1/attachments/" + id + "/info", alice.token).status, 200);
}

TEST_F(AttachmentsTest, LimitsQuotaHashAndBadRequestsChangeNothing) {
  Person alice = Join("alice"), bob = Join("bob");
  auto dm = alice.ws->OpenDirect(UserArg("bob"));
  ASSERT_TRUE(dm.ok());
  const ConvId conv = dm->id;
  // A direct conversation shows to the peer with its first message: then bob is a member.
  ASSERT_TRUE(alice.ws->Send(conv, "files coming").ok());

  // Over the file limit (30 MiB), and a body over the part size.
  HttpResponse big = Create(alice, conv, std::string(31 * kMiB, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ErrorOf(big), "too_large");
  const std::string bytes = RandomBytes(6 * kMiB, 2);
  json up = json::parse(Create(alice, conv, bytes).body);
  const std::string upload = up["upload_id"];
  HttpResponse fat = Patch(alice, upload, 0, std::string(5 * kMiB + 1, 'y'));
  EXPECT_EQ(fat.status, 413);
  EXPECT_EQ(Http("HEAD", "/v1/uploads/" + upload, alice.token).Header("Upload-Offset"), "0");
  // A short part that is not the last one.
  EXPECT_EQ(Patch(alice, upload, 0, bytes.substr(0, 1000)).status, 400);

  // Malformed requests.
  EXPECT_EQ(ErrorOf(Http("POST", "/v1/uploads", alice.token, "{not json")), "bad_request");
  EXPECT_EQ(ErrorOf(Http("POST", "/v1/uploads", alice.token, R"({"conv":1})")), "bad_request");
  // Integers in range only: a float size was converted unchecked (the class of bug
  // fuzz/manifest_fuzz.cc found in manifests).
  for (const char* size : {"1e300", "-1", "1.5"}) {
    const std::string body = std::string(R"({"conv":1,"size":)") + size +
                             R"(,"sha256":"ab","mime":"text/plain","name":"a.txt"})";
    EXPECT_EQ(ErrorOf(Http("POST", "/v1/uploads", alice.token, body)), "bad_request") << size;
  }
  EXPECT_EQ(Create(alice, conv, bytes, "application/x-test", "a/b").status, 400);
  EXPECT_EQ(Create(alice, conv, bytes, "application/x-test", "x", "zz").status, 400);
  EXPECT_EQ(Patch(alice, upload, 0, "").status, 400);
  EXPECT_EQ(Http("PATCH", "/v1/uploads/" + upload, alice.token, "abc").status, 400);  // no offset
  EXPECT_EQ(Http("PUT", "/v1/uploads", alice.token).status, 405);
  // Not a member of the conversation.
  Person carol = Join("carol");
  HttpResponse outsider = Create(carol, conv, bytes);
  EXPECT_EQ(outsider.status, 403);
  EXPECT_EQ(ErrorOf(outsider), "not_member");
  EXPECT_FALSE(json::parse(outsider.body)["request_id"].get<std::string>().empty());

  // Wrong hash: the upload is discarded at complete.
  HttpResponse liar =
      Create(alice, conv, bytes, "application/x-test", "x.bin", Sha256Hex("something else"));
  ASSERT_EQ(liar.status, 201);
  const std::string lie = json::parse(liar.body)["upload_id"];
  ASSERT_EQ(SendFrom(alice, lie, bytes, 0, 5 * kMiB).status, 204);
  HttpResponse mismatch = Http("POST", "/v1/uploads/" + lie + "/complete", alice.token);
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(ErrorOf(mismatch), "checksum_mismatch");
  EXPECT_EQ(Http("HEAD", "/v1/uploads/" + lie, alice.token).status, 404);

  // Quota (40 MiB): 6 MiB in progress + 25 MiB stored, then 10 MiB more is refused.
  json stored = Upload(alice, conv, RandomBytes(25 * kMiB, 3));
  ASSERT_FALSE(stored.is_null());
  HttpResponse over = Create(alice, conv, RandomBytes(10 * kMiB, 4));
  EXPECT_EQ(over.status, 507);
  EXPECT_EQ(ErrorOf(over), "quota_exceeded");
  // Aborting the upload in progress frees its share.
  EXPECT_EQ(Http("DELETE", "/v1/uploads/" + upload, alice.token).status, 204);
  EXPECT_EQ(Create(alice, conv, RandomBytes(10 * kMiB, 4)).status, 201);
  // Bob's quota is his own.
  EXPECT_EQ(Create(bob, conv, RandomBytes(30 * kMiB, 5)).status, 201);

  // The same bytes again: stored once, a new attachment.
  const std::string small = RandomBytes(1000, 6);
  json a = Upload(bob, conv, small), b = Upload(bob, conv, small);
  ASSERT_FALSE(a.is_null());
  ASSERT_FALSE(b.is_null());
  EXPECT_NE(a["id"], b["id"]);
  const std::string metrics = Http("GET", "/metrics", "").body;
  EXPECT_NE(metrics.find("parley_attachments_deduplicated_total 1"), std::string::npos);

  // The server still serves messages.
  EXPECT_TRUE(alice.ws->Send(conv, "still here").ok());
}

TEST_F(AttachmentsTest, ImagesGetThumbnailsAndBombsStayFiles) {
  Person alice = Join("alice"), bob = Join("bob");
  auto dm = alice.ws->OpenDirect(UserArg("bob"));
  ASSERT_TRUE(dm.ok());
  const std::string jpeg = test::EncodedImage(1600, 1200, "jpeg");
  ASSERT_FALSE(jpeg.empty());
  json img = Upload(alice, dm->id, jpeg, "image/jpeg", "beach.jpg");
  ASSERT_FALSE(img.is_null());
  EXPECT_EQ(img["kind"], "image");
  EXPECT_EQ(img["width"], 1600);
  EXPECT_EQ(img["height"], 1200);
  EXPECT_TRUE(img["thumbnail"].get<bool>());
  EXPECT_FALSE(img["preview"].get<std::string>().empty());
  auto ack = SendFile(alice, dm->id, img["id"], MessageKind::kImage);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  HttpResponse thumb =
      Http("GET", "/v1/attachments/" + img["id"].get<std::string>() + "/thumbnail", bob.token);
  ASSERT_EQ(thumb.status, 200);
  EXPECT_EQ(thumb.Header("Content-Type"), "image/webp");
  EXPECT_EQ(media::SniffImageFormat(thumb.body), "webp");
  HttpResponse full = Http("GET", "/v1/attachments/" + img["id"].get<std::string>(), bob.token);
  EXPECT_EQ(full.Header("Content-Type"), "image/jpeg");
  EXPECT_TRUE(full.Header("Content-Disposition").starts_with("inline;"));

  // 100,000 x 100,000 pixels claimed in a few hundred bytes: kept as a file, no thumbnail.
  json bomb = Upload(alice, dm->id, test::ClaimedPng(100000, 100000), "image/png", "bomb.png");
  ASSERT_FALSE(bomb.is_null());
  EXPECT_EQ(bomb["kind"], "file");
  EXPECT_EQ(SendFile(alice, dm->id, bomb["id"], MessageKind::kImage).status().code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(SendFile(alice, dm->id, bomb["id"]).ok());
  EXPECT_EQ(
      Http("GET", "/v1/attachments/" + bomb["id"].get<std::string>() + "/thumbnail", bob.token)
          .status,
      404);
}

TEST_F(AttachmentsTest, AnUploadResumesAfterKillMinus9) {
  Person alice = Join("alice");
  auto dm = alice.ws->OpenDirect(UserArg("alice-peer"));
  if (!dm.ok()) {
    Join("alice-peer");
    dm = alice.ws->OpenDirect(UserArg("alice-peer"));
  }
  ASSERT_TRUE(dm.ok()) << dm.status().ToString();
  const std::string bytes = RandomBytes(11 * kMiB, 7);
  json up = json::parse(Create(alice, dm->id, bytes).body);
  const std::string upload = up["upload_id"];
  ASSERT_EQ(Patch(alice, upload, 0, bytes.substr(0, 5 * kMiB)).status, 204);
  alice.ws.reset();
  server_->Kill();
  ASSERT_TRUE(server_->Restart().ok());
  HttpResponse head = Http("HEAD", "/v1/uploads/" + upload, alice.token);
  ASSERT_EQ(head.status, 200);
  const uint64_t offset = std::stoull(head.Header("Upload-Offset"));
  EXPECT_EQ(offset, 5 * kMiB);
  ASSERT_EQ(SendFrom(alice, upload, bytes, offset, 5 * kMiB).status, 204);
  HttpResponse done = Http("POST", "/v1/uploads/" + upload + "/complete", alice.token);
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string id = json::parse(done.body)["attachment"]["id"];
  EXPECT_TRUE(Http("GET", "/v1/attachments/" + id, alice.token).body == bytes);
}

// The same path on radosgw: parts into an S3 multipart upload, a download is a 302 to a
// presigned URL that serves the bytes (and ranges) with the safe headers.
class AttachmentsS3Test : public AttachmentsTest {
 protected:
  void SetUp() override {
    auto gw = test::RadosGw::Shared();
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    s3_ = (*gw)->Config("attachments-" + std::to_string(::getpid()));
    auto client = s3::S3Client::Create(s3_);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE((*client)->CreateBucket().ok());
    {
      std::ofstream secret(dir_.path() + "/s3.secret");
      secret << s3_.credentials.secret_key << "\n";
    }
    fs::permissions(dir_.path() + "/s3.secret", fs::perms::owner_read | fs::perms::owner_write);
    StartServer(std::string(kConfig) + "store = \"s3://" + s3_.bucket +
                "/files\"\n[s3]\nendpoint = \"" + s3_.endpoint + "\"\nregion = \"" + s3_.region +
                "\"\naccess_key = \"" + s3_.credentials.access_key + "\"\nsecret_key_file = \"" +
                dir_.path() + "/s3.secret\"\n");
  }
  s3::S3Config s3_;
  test::TempDir dir_{"parley-att-s3-"};
};

// Sends the head of a PATCH declaring a whole part and only `sent` bytes of it, then cuts
// the connection (a phone losing its network mid-part).
void CutPatch(uint16_t port, const std::string& token, const std::string& upload, uint64_t declared,
              const std::string& sent) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string head = "PATCH /v1/uploads/" + upload +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                           "\r\nUpload-Offset: 0\r\nContent-Length: " + std::to_string(declared) +
                           "\r\n\r\n" + sent;
  size_t off = 0;
  while (off < head.size()) {
    const ssize_t n = ::send(fd, head.data() + off, head.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

TEST_F(AttachmentsS3Test, AnUploadResumesAfterTheConnectionIsCutMidPart) {
  Person alice = Join("alice"), bob = Join("bob");
  auto dm = alice.ws->OpenDirect(UserArg("bob"));
  ASSERT_TRUE(dm.ok());
  const std::string bytes = RandomBytes(9 * kMiB, 9);
  HttpResponse created = Create(alice, dm->id, bytes);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string upload = json::parse(created.body)["upload_id"];
  CutPatch(server_->port(), alice.token, upload, 5 * kMiB, bytes.substr(0, 2 * kMiB));
  // Nothing of the cut part counts: the client resumes where the server says.
  HttpResponse head = Http("HEAD", "/v1/uploads/" + upload, alice.token);
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Upload-Offset"), "0");
  ASSERT_EQ(SendFrom(alice, upload, bytes, 0, 5 * kMiB).status, 204);
  HttpResponse done = Http("POST", "/v1/uploads/" + upload + "/complete", alice.token);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(json::parse(done.body)["attachment"]["sha256"], Sha256Hex(bytes));
}

TEST_F(AttachmentsS3Test, DownloadsRedirectToAPresignedUrl) {
  Person alice = Join("alice"), bob = Join("bob");
  auto dm = alice.ws->OpenDirect(UserArg("bob"));
  ASSERT_TRUE(dm.ok());
  const std::string bytes = RandomBytes(7 * kMiB + 3, 8);
  json att = Upload(alice, dm->id, bytes, "text/html", "x.html");
  ASSERT_FALSE(att.is_null());
  ASSERT_TRUE(SendFile(alice, dm->id, att["id"]).ok());
  HttpResponse redirect = Http("GET", "/v1/attachments/" + att["id"].get<std::string>(), bob.token);
  ASSERT_EQ(redirect.status, 302) << redirect.body;
  const std::string location = redirect.Header("Location");
  ASSERT_TRUE(location.starts_with(s3_.endpoint)) << location;
  // Follow it without the token, as a browser would.
  auto url = client::ParseHttpUrl(location);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  client::HttpRequestSpec spec;
  spec.host = url->host;
  spec.port = url->port;
  spec.path = url->path;
  spec.timeout_s = 60;
  auto got = client::HttpRequest(spec);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, 200);
  EXPECT_TRUE(got->body == bytes);
  EXPECT_EQ(got->Header("Content-Type"), "application/octet-stream");
  EXPECT_TRUE(got->Header("Content-Disposition").starts_with("attachment;"));
  spec.headers = {{"Range", "bytes=10-19"}};
  auto range = client::HttpRequest(spec);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->status, 206);
  EXPECT_EQ(range->body, bytes.substr(10, 10));
  // Access rules are checked before any URL is made.
  Person carol = Join("carol");
  EXPECT_EQ(Http("GET", "/v1/attachments/" + att["id"].get<std::string>(), carol.token).status,
            403);
}

}  // namespace
}  // namespace parley
