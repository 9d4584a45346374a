/* Row hashes use the low-level SHA256_* functions: for messages of a hundred bytes they cost a
   fraction of EVP's per-call dispatch. They are deprecated in OpenSSL 3, not removed. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
