// Package cashier is the Cashier (seed 002): a Platform (a broker, a gaming
// operator, a marketplace with its own CRM) lets its customers deposit and
// withdraw through payment service providers (PSPs). The CRM keeps the
// customers in sync (PUT /cashier/v1/customers/{id}); the Platform's
// backend opens cashier sessions for the hosted cashier or calls the
// Payment API directly; back-office agents approve payouts and capture
// deposits through the Agent API. Each of the seed's questions is a
// per-tenant setting (Settings).
//
// # PSPs
//
// A PSP is a Connector: one small interface (deposit, authorise, capture,
// void, refund, payout, status, notification parsing) whose Info declares
// the currencies and amounts it takes, whether it pays out and whether it
// authorises and captures separately. Built in: "card" (the payments
// core's card engine, 3-D Secure), "wallet" (cashgate wallets, paying with
// the PIN), "bank" (bank transfers: instructions with a reference, credited
// by the operator; payouts exported as pain.001) and "sim" (a simulated
// external PSP answering by signed asynchronous notifications, some
// delayed, duplicated or reordered, its API failing for some amounts).
// "offline" books an agent's manual deposit. A PSP that cannot be reached
// is asked again later when the deposit can be sent without the customer
// (deposit_retry.go).
//
// # Back office
//
// The cashier's pages in the merchant back office (office*.go): the payout
// approval queue, the deposits, the MOTO and offline deposit forms and the
// customer view, each action the Agent API's method via the back office.
//
// # State machines
//
//	deposit  created → pending | authorised | captured | declined | failed
//	         pending → authorised | captured | declined | failed
//	         authorised → captured | voided        captured → refunded
//	payout   requested → approved | rejected
//	         approved → processing → paid | failed | returned
//
// Every step is one transaction: the guarded state change (the row is
// locked and its status checked), its ledger entry, its event (and so the
// webhooks to the Platform: cashier.deposit.<status>,
// cashier.payout.<status>) and, for an API call, the answer. An illegal step
// is a Conflict naming the status; a PSP notification that would make one
// (a duplicate, a reordered or stale one) is recorded and ignored.
//
// # Ledger (the tenant's scope, the customer's currency)
//
//	authorised   hold  PSP clearing → customer balance            cashier_deposit
//	captured     the hold posted (or a transfer when not held)
//	voided       the hold released
//	refunded     customer balance → PSP clearing                   cashier_refund
//	             (a card's: the payments core's card refund)         card_refund
//	requested    customer balance (+ the Platform's funds) → customer payouts  cashier_payout
//	paid         customer payouts → PSP clearing
//	rejected, failed, returned   customer payouts → back where it came from
//
// A customer's accounts (owner "cashier-customer:<id>"): balance (what the
// customer may withdraw when cashgate's ledger is the balance authority;
// its pending_in is the deposits authorised, not captured) and payouts (the
// payouts requested and not yet paid). With the CRM as balance authority
// the CRM answers what the customer may withdraw, and what the customer's
// balance in cashgate does not cover comes from the tenant's
// cashier/platform account (the Platform's own money: winnings, profits).
package cashier
