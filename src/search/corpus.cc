#include "search/corpus.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace parley::search {
namespace {

// Everyday chat words, most frequent first (roughly).
constexpr std::array kChinese = {
    "我们",   "今天", "明天", "可以",   "没有", "问题",   "一下",   "时间", "已经", "现在",
    "开会",   "下午", "上午", "晚上",   "项目", "需要",   "服务器", "消息", "同步", "备份",
    "恢复",   "漫游", "数据", "测试",   "发布", "版本",   "客户",   "文档", "方案", "讨论",
    "确认",   "修改", "部署", "上线",   "回滚", "性能",   "延迟",   "接口", "设计", "评审",
    "周末",   "吃饭", "咖啡", "会议室", "老板", "同事",   "朋友",   "电话", "邮件", "地址",
    "北京",   "上海", "深圳", "杭州",   "机场", "火车",   "酒店",   "预订", "取消", "报销",
    "发票",   "合同", "预算", "季度",   "目标", "进度",   "风险",   "计划", "总结", "报告",
    "搜索",   "索引", "分词", "中文",   "英文", "手机",   "电脑",   "网络", "离线", "在线",
    "群聊",   "私聊", "通知", "提醒",   "截图", "附件",   "图片",   "视频", "语音", "链接",
    "密码",   "账号", "登录", "注册",   "权限", "管理员", "成员",   "频道", "话题", "表情",
    "生日",   "快乐", "谢谢", "不客气", "辛苦", "加油",   "好的",   "收到", "明白", "稍等",
    "数据库", "缓存", "队列", "日志",   "监控", "告警",   "故障",   "修复", "升级", "迁移",
};
constexpr std::array kEnglish = {
    "the",      "ok",         "thanks",    "meeting",    "today",      "tomorrow", "please",
    "review",   "deploy",     "release",   "server",     "message",    "sync",     "backup",
    "restore",  "search",     "index",     "query",      "latency",    "error",    "fix",
    "bug",      "test",       "tests",     "running",    "runs",       "ran",      "build",
    "merge",    "branch",     "commit",    "push",       "pull",       "request",  "customer",
    "design",   "document",   "docs",      "plan",       "budget",     "quarter",  "goal",
    "lunch",    "coffee",     "weekend",   "travel",     "flight",     "hotel",    "booking",
    "cancel",   "invoice",    "contract",  "database",   "cache",      "queue",    "logging",
    "monitor",  "alert",      "incident",  "upgrade",    "migration",  "rollback", "performance",
    "roaming",  "offline",    "online",    "group",      "channel",    "mention",  "notify",
    "reminder", "screenshot", "attach",    "image",      "video",      "voice",    "link",
    "password", "account",    "login",     "register",   "admin",      "member",   "topic",
    "birthday", "happy",      "great",     "awesome",    "sorry",      "later",    "soon",
    "quickly",  "slowly",     "connected", "connection", "connecting", "indexed",  "indexing",
};
constexpr std::array kFiller = {"，",   "。",  "！",  "？",  ", ", ". ", "! ", "... ",
                                " :) ", " 😀 ", " 👍 ", " 🎉 ", " #", " (", ") "};
constexpr std::array kPeople = {"alice", "bob", "carol", "dave", "张伟", "李娜", "王芳"};

constexpr double kZipfS = 1.05;

}  // namespace

SyntheticCorpus::SyntheticCorpus(uint64_t seed) : rng_(seed) {
  const size_t n = std::max(kChinese.size(), kEnglish.size());
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), kZipfS);
    zipf_cdf_.push_back(sum);
  }
  for (double& c : zipf_cdf_) c /= sum;
}

size_t SyntheticCorpus::ZipfRank(size_t n) {
  std::uniform_real_distribution<double> u(0.0, zipf_cdf_[n - 1]);
  double x = u(rng_);
  return static_cast<size_t>(std::lower_bound(zipf_cdf_.begin(), zipf_cdf_.begin() + n, x) -
                             zipf_cdf_.begin());
}

size_t SyntheticCorpus::vocabulary(bool cjk) const {
  return cjk ? kChinese.size() : kEnglish.size();
}

std::string_view SyntheticCorpus::Word(size_t rank, bool cjk) const {
  return cjk ? kChinese[rank % kChinese.size()] : kEnglish[rank % kEnglish.size()];
}

std::string_view SyntheticCorpus::RandomWord(bool cjk) {
  return Word(ZipfRank(vocabulary(cjk)), cjk);
}

std::string SyntheticCorpus::NextMessage() {
  std::uniform_int_distribution<int> words(5, 22), pct(0, 99);
  // A message leans to one language and mixes in the other, as bilingual chat does.
  const bool chinese_first = pct(rng_) < 55;
  std::string out;
  const int n = words(rng_);
  bool last_cjk = false;
  for (int i = 0; i < n; ++i) {
    int roll = pct(rng_);
    if (roll < 4) {
      out += " @";
      out += kPeople[static_cast<size_t>(pct(rng_)) % kPeople.size()];
      out += ' ';
      continue;
    }
    if (roll < 8) {
      out += ' ';
      out += std::to_string(pct(rng_) * 37 + 1);
      out += ' ';
      continue;
    }
    if (roll < 16) {
      out += kFiller[static_cast<size_t>(pct(rng_)) % kFiller.size()];
      continue;
    }
    const bool cjk = (pct(rng_) < 75) == chinese_first;
    if (!cjk && !out.empty() && out.back() != ' ') out += ' ';
    if (cjk && !last_cjk && !out.empty() && out.back() != ' ' && pct(rng_) < 50) out += ' ';
    out += RandomWord(cjk);
    last_cjk = cjk;
  }
  // Trim leading and trailing spaces.
  size_t b = out.find_first_not_of(' '), e = out.find_last_not_of(' ');
  if (b == std::string::npos) return "ok";
  return out.substr(b, e - b + 1);
}

}  // namespace parley::search
