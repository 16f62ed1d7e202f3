// ConnectionSlot: one admitted connection's share of the gateway's connection counts —
// all open connections, those of the admin listener, and its client address's count in
// AddressLimits. It moves from the HTTP session to the WebSocket session on upgrade; the
// counts drop when its last owner is destroyed, whatever path the connection ended by.
//
// Thread-safety: the counts it touches are atomic or locked; a slot itself has one owner.
#pragma once

#include <string>
#include <utility>

#include "gateway/gateway_context.h"

namespace parley {

class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  // Counts a connection just admitted. `address_key` non-empty: AddressLimits::TryOpen
  // admitted it under that key, and the slot reports it closed at the end.
  ConnectionSlot(GatewayContext* ctx, std::string address_key, bool admin_listener)
      : ctx_(ctx), address_key_(std::move(address_key)), admin_(admin_listener) {
    ctx_->open_connections.fetch_add(1, std::memory_order_relaxed);
    if (admin_) ctx_->admin_connections.fetch_add(1, std::memory_order_relaxed);
    ctx_->metrics->connections.Add(1);
    ctx_->metrics->connections_accepted.Inc();
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept { *this = std::move(other); }
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept {
    if (this != &other) {
      Release();
      ctx_ = std::exchange(other.ctx_, nullptr);
      address_key_ = std::move(other.address_key_);
      admin_ = other.admin_;
    }
    return *this;
  }
  ~ConnectionSlot() { Release(); }

  // A connection from a trusted proxy is admitted per client address only once its
  // upgrade request names the client: AdmitAddress admitted it under `key`.
  void AdoptAddressKey(std::string key) { address_key_ = std::move(key); }

 private:
  void Release() {
    if (!ctx_) return;
    ctx_->open_connections.fetch_sub(1, std::memory_order_relaxed);
    if (admin_) ctx_->admin_connections.fetch_sub(1, std::memory_order_relaxed);
    ctx_->metrics->connections.Add(-1);
    if (!address_key_.empty() && ctx_->address_limits) ctx_->address_limits->Closed(address_key_);
    ctx_ = nullptr;
  }

  GatewayContext* ctx_ = nullptr;
  std::string address_key_;
  bool admin_ = false;
};

}  // namespace parley
