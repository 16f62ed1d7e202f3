#include "tests/support/store_kinds.h"

#include <functional>

#include "pg/pg_store.h"
#include "store/rocks_store.h"
#include "tests/support/pg_server.h"

namespace parley::test {

void PrintTo(const StoreKind& kind, std::ostream* os) { *os << kind.name; }

const StoreKind& RocksStoreKind() {
  static const StoreKind kind{"RocksStore",
                              [](const std::string& dir) -> Result<std::unique_ptr<Store>> {
                                RocksStoreOptions options;
                                options.block_cache_bytes = 8u << 20;
                                options.write_buffer_bytes = 32u << 20;
                                PARLEY_ASSIGN_OR_RETURN(auto store, OpenRocksStore(dir, options));
                                return std::unique_ptr<Store>(std::move(store));
                              }};
  return kind;
}

const StoreKind& PgStoreKind() {
  static const StoreKind kind{
      "PgStore", [](const std::string& dir) -> Result<std::unique_ptr<Store>> {
        PgStoreOptions options;
        options.url = PgServer::Shared().Url();
        options.schema = "t" + std::to_string(std::hash<std::string>{}(dir));
        options.readers = 4;
        return OpenPgStore(options);
      }};
  return kind;
}

}  // namespace parley::test
