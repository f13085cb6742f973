// Package remote is the remote payments product (seed 004): a merchant's
// backend creates a payment request with its APP key (POST
// /remote/v1/payments), sends the user to the hosted payment page
// (/pay/{id}), where the user pays with a cashgate wallet or a card, and
// re-reads the payment by id before it confirms the order.
//
// State machine
//
//	pending  → paid | canceled | rejected
//	rejected → paid | canceled | rejected   (the last attempt failed; still payable)
//	paid     → refunded                     (refunds reached the amount)
//
// A rejected attempt (insufficient funds, a PIN locked by wrong entries, a
// declined card) leaves the payment payable
// by another attempt until it expires: status rejected tells the merchant's
// backend the last attempt failed and the order must not be confirmed. An
// expired payment becomes canceled with cancel_reason "expired"; a merchant's
// cancel gives "merchant", the payer's on the page "payer". canceled and
// refunded are final. A payer other than payable_to is refused and the
// payment is unchanged (a stranger cannot make it rejected).
//
// Every state change emits one event (remote.payment.created, .paid,
// .rejected, .canceled, .refunded; data: the payment object) in the
// transaction of the change, so webhooks follow; every movement of money is
// one ledger entry in that same transaction.
package remote
