// Package wallet is cashgate's e-wallet (seed 000): private users
// (customers) with EUR e-money wallets (which may hold other currencies
// too), corporate accounts (platform tenants) with a corporate wallet, a
// tier and a bank account, merchant money requests approved by the
// customer with a PIN, sends, top-ups by bank transfer, SEPA withdrawals
// exported as pain.001, and the guide's fee and limit table.
//
// # Ledger scoping
//
// The installation's operator is the e-money issuer. All e-money is kept in
// ONE ledger scope, the issuer's (ledger tenant id LedgerScope = "wallet"),
// because a customer paying a corporate must be one balanced entry and the
// ledger never moves money across tenant scopes:
//
//	owner "customer:<user id>"   purpose "wallet"     a private user's wallet, one per currency (no overdraft)
//	owner "corporate:<tenant>"   purpose "wallet"     a corporate wallet, one per currency (no overdraft)
//	owner "issuer"               purpose "fees"       fee revenue (no overdraft)
//	owner "issuer"               purpose "payouts"    withdrawals requested, not yet paid (no overdraft)
//	owner "issuer"               purpose "expenses"   the issuer's own costs, e.g. 2-cent verifications (overdraft)
//	owner "bank"                 purpose "clearing"   the issuer's bank: the outside world, one per currency (overdraft)
//
// The EUR accounts exist from the start (a user's is
// wallet_users.account_id); one in another currency is made by the first
// transaction that needs it (AccountIn). The seed-000 movements below are
// all EUR; a sandbox top-up may be in any currency internal/money knows.
//
// Every movement is one entry with its fee postings, written in the
// transaction of the wallet state change (wallet_transactions row, money
// request status, usage counters) that caused it.
//
// # Movements (kind of wallet transaction → entry)
//
//	topup        bank clearing → wallet                                      (free)
//	send         sender −(amount+send fee); recipient +(amount−receive fee); fees +both
//	payment      customer −amount; corporate +(amount−receive fee); fees +receive fee
//	refund       corporate −(amount−fee share); fees −fee share; customer +amount
//	             (fee share: the receive fee's pro-rata part, see Service.Refund)
//	withdrawal   wallet −(amount+2.00); payouts +amount; fees +2.00
//	             paid: payouts → bank clearing
//	             returned by the bank: payouts −amount, fees −2.00, wallet +(amount+2.00)
//	verification expenses −0.02 → payouts +0.02
//	             paid: payouts → bank clearing; returned: payouts → expenses
//
// Payouts (withdrawals and verification transfers) go requested → exported
// (pain.001) → paid | returned; see PayoutStatus for the state machine and
// the fee policy on returns. A payout's SEPA end-to-end id is its
// transaction id without the underscore (the SEPA character set has none);
// the operator commands take either. A corporate may order at most
// MaxVerificationsPerDay verification transfers a day (the issuer pays
// them).
//
// # Account numbers
//
// Every wallet user, private or corporate, has an account number: 12
// digits, 10 random (the first not 0) and 2 ISO 7064 MOD 97-10 check
// digits as in an IBAN (check = 98 − (first10·100 mod 97)), so a mistyped
// digit or two swapped neighbours are refused (ValidAccountNumber,
// ParseAccountNumber). The API carries the plain digits; pages show them
// as "1234 5678 9012". Users created before account numbers existed get
// theirs when the service starts (New), in batches.
//
// # Wallet-app sessions
//
// A login answers a session token and sets it as the cg_wallet cookie
// (HttpOnly, SameSite=Strict, path /wallet, Max-Age = the session TTL so
// the browser's clock cannot expire it early; Secure when the request came
// over TLS, or always with Config.SecureCookies — set it when a
// TLS-terminating proxy serves the installation over https). Clients other than the wallet
// app's pages send the token as "Authorization: Bearer cgw_…". A
// state-changing call authenticated by the cookie alone must come from the
// wallet app's own origin (Sec-Fetch-Site, else Origin against Host;
// net/http's CrossOriginProtection): a foreign page cannot deny a request,
// order a verification transfer or log the user out with the user's
// cookie.
//
// # Corporate accounts
//
// A corporate account is a platform tenant with one corporate wallet. The
// operator opens both with `cashgate wallet corporate create`; a tenant
// that exists already opens its wallet with its APP key through the
// platform API (POST /platform/wallet/corporate, OpenCorporate). Either way
// the answer carries the merchant secret, shown only that once.
//
// # Merchant authorization token
//
// There is no API key. A merchant has a merchant id (its tenant's business
// code) and a merchant secret ("cgm_" and 64 hex digits, shown once when
// the corporate wallet is opened, and once at each rotation:
// RotateMerchantSecret, with a grace period during which tokens built from
// the previous secret are accepted too). The merchant API is for
// Corporate+ accounts unless the installation opens it to Corporate ones
// (SetAPIAccessRule). The secret never travels:
//
//  1. The merchant's backend asks for a salt:
//     POST /wallet/api/v1/auth/salt {"merchantId":"K7M2QX9A"} answers
//     {"salt":"<64 hex digits>","expiresAt":"…"}; a salt lives for an hour
//     (Config.SaltTTL). Salts are stateless: the server stores nothing
//     when it issues one (a flood of salt requests writes nothing). A salt
//     is hex(expiry (8 bytes, big-endian unix seconds) || random (8 bytes)
//     || MAC (16 bytes)), the MAC being HMAC-SHA256 under a server key over
//     the merchant id, the expiry and the random part, truncated; merchants
//     treat it as opaque.
//  2. It builds the token from the salt, its merchant id and its secret
//     (the HMAC key is the secret's text as bytes, "cgm_" included):
//     see the construction below.
//  3. It sends "Authorization: Bearer <token>" on every call. The server
//     re-evaluates the token on every call (the salt's MAC must be
//     the server's for the token's merchant id and the salt unexpired, then
//     the signature must match; both compared in constant time); GET /wallet/api/v1/auth/token checks it
//     explicitly and says until when it is valid. The token expires with
//     its salt: ask for a new salt then.
//
// The construction:
//
//	message   = "cashgate-wallet-token" + "\n" + merchantId + "\n" + salt
//	signature = lower-case hex(HMAC-SHA256(key = merchant secret, message))
//	token     = merchantId + "." + salt + "." + signature
//
// Worked example of the arithmetic (TestMerchantTokenExample pins it; the
// example salt is not one the server issued, so the server refuses this
// token): merchant id "K7M2QX9A", secret "cgm_secret", salt
// "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff":
//
//	message   = "cashgate-wallet-token\nK7M2QX9A\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
//	signature = 918da07f0a615cb9d319732047731fd0724570e3dce7e03720742588a6a95d90
//	token     = K7M2QX9A.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff.918da07f0a615cb9d319732047731fd0724570e3dce7e03720742588a6a95d90
//
// In a shell: printf 'cashgate-wallet-token\n%s\n%s' "$MID" "$SALT" |
// openssl dgst -sha256 -hmac "$SECRET". MerchantToken is the reference
// implementation.
//
// # Callback and its control parameter
//
// When the customer approves or denies a money request, or its time frame
// runs out, the wallet POSTs a JSON object (CallbackBody) to the request's
// callback URL (set only through the API, with the token; a retail
// request, MoneyRequestSpec.Retail, may have none: the till polls
// GET /wallet/api/v1/requests/{id} and nothing is POSTed):
//
//	{"requestId":"mrq_…","orderId":"…","status":"approved|denied|expired",
//	 "amount":"12.50","currency":"EUR","originalAmount":"13.57","originalCurrency":"USD",
//	 "fee":"0.39","timestamp":"2026-11-21T09:30:00Z","control":"<64 hex digits>"}
//
// amount is the EUR amount the customer paid (or was asked for), fee the
// receive fee deducted from the merchant's wallet ("0.00" unless
// approved), originalAmount and originalCurrency what the merchant asked
// for before conversion (EUR and the same amount for EUR requests), and
// timestamp when the callback was made (RFC 3339 in UTC, with up to six
// fractional digits). The control
// parameter covers every other field, in this order:
//
//	message = "cashgate-wallet-callback" + "\n" + requestId + "\n" + orderId + "\n" + status + "\n" +
//	          amount + "\n" + currency + "\n" + originalAmount + "\n" + originalCurrency + "\n" +
//	          fee + "\n" + timestamp
//	control = lower-case hex(HMAC-SHA256(key = merchant secret, message))
//
// (the current merchant secret: after a rotation, the new one), with each field exactly as it appears in the body. The merchant
// recomputes it and compares in constant time (VerifyCallback is the
// reference implementation), then checks the status with
// GET /wallet/api/v1/requests/{requestId} if it wants to be sure. Worked
// example (TestMerchantTokenExample pins it): secret "cgm_secret",
// requestId "mrq_1", orderId "o-1", status "approved", amount "12.50",
// currency "EUR", originalAmount "13.57", originalCurrency "USD", fee
// "0.39", timestamp "2026-11-21T09:30:00Z":
//
//	message = "cashgate-wallet-callback\nmrq_1\no-1\napproved\n12.50\nEUR\n13.57\nUSD\n0.39\n2026-11-21T09:30:00Z"
//	control = 2feaa1e1aa2ff6ba9d80555d30a79506147e5c6a49cb9311736f10b374bd17bb
//
// Callbacks are not signed otherwise (no webhook headers): the control
// parameter is their integrity. The merchant acknowledges a callback by
// answering 2xx with the body "OK" (blanks and case ignored); anything else
// is retried through the outbox — every minute for 10 minutes, then daily
// to day 7, then weekly to day 28.
package wallet
