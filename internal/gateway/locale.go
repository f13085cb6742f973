package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"

	"github.com/cashgate/cashgate/internal/apperr"
)

// The hosted pages in the shopper's language (the guide's locale:
// "Determines the language that messages are displayed in"). A payment
// job's locale (en_GB by default; en-GB, de_DE, fr-FR… are all read as
// BCP 47 tags) picks the language of its pages: the card form, the 3-D
// Secure simulator, the notices of a payment link and every message they
// show, the guide's included. A page without a job (an unknown reference,
// the default return page without its locale) follows the browser's
// Accept-Language. cashgate speaks British English, German and French;
// any other language falls back to English (golang.org/x/text/language
// matching: de_AT is German, en_US English, es_ES English). The API's
// own error messages stay in English: they are for the merchant's
// developers, not its shoppers.

// pageLang is one language of the hosted pages.
type pageLang struct {
	tag language.Tag
	// decimal is the decimal separator of amounts.
	decimal string
	// text maps the English text of a page or message to this language;
	// nil for English, and a text not in it is shown in English.
	text map[string]string
}

// T is s in the language (English when it has no translation).
func (l *pageLang) T(s string) string {
	if t, ok := l.text[s]; ok {
		return t
	}
	return s
}

// Tf is the translation of the pattern with args.
func (l *pageLang) Tf(pattern string, args ...any) string { return fmt.Sprintf(l.T(pattern), args...) }

// amount writes an amount ("1234.50") with the language's decimal separator.
func (l *pageLang) amount(s string) string { return strings.Replace(s, ".", l.decimal, 1) }

// pageLangs are the languages of the hosted pages, the fallback first.
var pageLangs = []*pageLang{
	{tag: language.BritishEnglish, decimal: "."},
	{tag: language.MustParse("de-DE"), decimal: ",", text: germanText},
	{tag: language.MustParse("fr-FR"), decimal: ",", text: frenchText},
}

// langMatcher matches a locale or an Accept-Language list to pageLangs.
var langMatcher = language.NewMatcher([]language.Tag{pageLangs[0].tag, pageLangs[1].tag, pageLangs[2].tag})

// parseLocale reads a locale as the guide writes it (en_GB) or as BCP 47
// (en-GB).
func parseLocale(s string) (language.Tag, error) {
	return language.Parse(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
}

// checkLocale refuses a locale that is no language tag.
func checkLocale(s string) error {
	if _, err := parseLocale(s); err != nil || len(s) > 35 {
		return apperr.InvalidField("locale", "locale must be a language tag such as en_GB, de_DE or fr_FR.")
	}
	return nil
}

// langOf is the language of the locale; English when none matches.
func langOf(locale string) *pageLang {
	t, err := parseLocale(locale)
	if err != nil {
		return pageLangs[0]
	}
	return matchLang(t)
}

func matchLang(tags ...language.Tag) *pageLang {
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return pageLangs[0]
	}
	return pageLangs[i]
}

// requestLang is the language for a hosted page of job j (its locale), or
// for a page without a job: the query's locale (the default return page),
// else the browser's Accept-Language.
func requestLang(r *http.Request, j *job) *pageLang {
	if j != nil {
		return langOf(j.Locale)
	}
	if r == nil {
		return pageLangs[0]
	}
	if l := r.URL.Query().Get("locale"); l != "" {
		return langOf(l)
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return pageLangs[0]
	}
	return matchLang(tags...)
}

// germanText is the German of the hosted pages.
var germanText = map[string]string{
	// the pages
	"Payment":                 "Zahlung",
	"Pay by card":             "Mit Karte bezahlen",
	"3-D Secure":              "3-D Secure",
	"Payment link":            "Zahlungslink",
	"Payment completed":       "Zahlung abgeschlossen",
	"Payment cancelled":       "Zahlung abgebrochen",
	"Card":                    "Karte",
	"Order %s":                "Bestellung %s",
	"Card number":             "Kartennummer",
	"Name on card":            "Name auf der Karte",
	"Expiry month (MM)":       "Ablaufmonat (MM)",
	"Expiry year (YY)":        "Ablaufjahr (JJ)",
	"Security code":           "Sicherheitscode",
	"Pay":                     "Bezahlen",
	"Cancel":                  "Abbrechen",
	"Complete authentication": "Authentifizierung abschließen",
	"Fail authentication":     "Authentifizierung scheitern lassen",
	"Payment status: %s":      "Zahlungsstatus: %s",
	"3-D Secure simulator: card %s. Complete or fail the challenge.":  "3-D-Secure-Simulator: Karte %s. Schließen Sie die Prüfung ab oder lassen Sie sie scheitern.",
	"This payment link has been cancelled.":                           "Dieser Zahlungslink wurde storniert.",
	"This payment link has expired.":                                  "Dieser Zahlungslink ist abgelaufen.",
	"This payment link has been paid.":                                "Dieser Zahlungslink wurde bereits bezahlt.",
	"The previous payment was cancelled. You can pay again.":          "Die vorherige Zahlung wurde abgebrochen. Sie können erneut bezahlen.",
	"The previous payment did not go through (%s) You can try again.": "Die vorherige Zahlung ist nicht durchgegangen (%s) Sie können es erneut versuchen.",
	"This payment has expired.":                                       "Diese Zahlung ist abgelaufen.",
	"The form could not be read.":                                     "Das Formular konnte nicht gelesen werden.",
	"Unknown 3-D Secure result.":                                      "Unbekanntes 3-D-Secure-Ergebnis.",
	"internal error":                                                  "Interner Fehler",
	msgPageNoCards:                                                    "Kartenzahlungen sind auf dieser Seite nicht möglich: Der Händler authentifiziert seine Zahlungen über seinen eigenen 3-D-Secure-Anbieter.",
	// the default return page (result.go)
	"Payment authorised":                         "Zahlung autorisiert",
	"Payment failed":                             "Zahlung fehlgeschlagen",
	"Payment expired":                            "Zahlung abgelaufen",
	"Payment not completed":                      "Zahlung nicht abgeschlossen",
	"Thank you: your payment has been received.": "Vielen Dank: Ihre Zahlung ist eingegangen.",
	"Your payment has been authorised: the merchant collects it when your order is processed.": "Ihre Zahlung wurde autorisiert: Der Händler zieht sie ein, wenn Ihre Bestellung bearbeitet wird.",
	"Your payment did not go through and no money was taken.":                                  "Ihre Zahlung ist nicht durchgegangen, es wurde kein Geld abgebucht.",
	"The payment was cancelled and no money was taken.":                                        "Die Zahlung wurde abgebrochen, es wurde kein Geld abgebucht.",
	"The payment was not completed in time and no money was taken.":                            "Die Zahlung wurde nicht rechtzeitig abgeschlossen, es wurde kein Geld abgebucht.",
	"This payment has not been completed yet.":                                                 "Diese Zahlung ist noch nicht abgeschlossen.",
	msgResultUnknown: "Diese Zahlung wurde nicht gefunden.",
	"Preview: no payment can be made on this page.": "Vorschau: Auf dieser Seite kann nicht bezahlt werden.",
	// payment statuses
	StPending: "Ausstehend", StAuthorised: "Autorisiert", StPaid: "Bezahlt", StFailed: "Fehlgeschlagen", StCancelled: "Abgebrochen",
	StExpired: "Abgelaufen", StRefunded: "Erstattet", StPartiallyRefunded: "Teilweise erstattet",
	"completed": "abgeschlossen", "cancelled": "abgebrochen",
	// the guide's messages a shopper may see
	MsgPageNotFound.Message:   "Die angegebene Zahlungsseite existiert nicht.",
	MsgJobFinal.Message:       "Dieser Zahlungsauftrag ist bereits abgeschlossen.",
	MsgRefused.Message:        "Die Zahlung wurde abgelehnt.",
	MsgNo3DS.Message:          "Kartenzahlungen ohne 3D Secure sind nicht zulässig.",
	Msg3DSFailed.Message:      "3D-Secure-Authentifizierung fehlgeschlagen – die Zahlung kann nicht fortgesetzt werden.",
	Msg3DSUnavailable.Message: "3D-Secure-Authentifizierung nicht verfügbar – die Zahlung kann nicht fortgesetzt werden.",
	MsgCommunication.Message:  "Fehler bei der Kommunikation.",
	// the card's checks
	"The card number is required.":                                      "Die Kartennummer ist erforderlich.",
	"The card number is not valid.":                                     "Die Kartennummer ist ungültig.",
	"The card expiry date is not valid.":                                "Das Ablaufdatum der Karte ist ungültig.",
	"The card has expired.":                                             "Die Karte ist abgelaufen.",
	"The card security code must be 3 or 4 digits.":                     "Der Sicherheitscode der Karte muss 3 oder 4 Ziffern haben.",
	"The cardholder name must be at most 100 characters.":               "Der Name des Karteninhabers darf höchstens 100 Zeichen lang sein.",
	"The card expiry month must be MM, 01 to 12.":                       "Der Ablaufmonat der Karte muss MM sein, 01 bis 12.",
	"The card expiry year must be YY (or YYYY).":                        "Das Ablaufjahr der Karte muss JJ (oder JJJJ) sein.",
	"The cardholder name is required for cards enrolled in 3-D Secure.": "Für Karten mit 3-D Secure ist der Name des Karteninhabers erforderlich.",
	"The card acquirer could not be reached.":                           "Der Kartenabwickler ist nicht erreichbar.",
	// PayPal (paypal.go, templates/paypal.html)
	"Pay with PayPal":                 "Mit PayPal bezahlen",
	"or pay by card":                  "oder mit Karte bezahlen",
	"PayPal sandbox simulator":        "PayPal-Sandbox-Simulator",
	"Test mode: no real money moves.": "Testmodus: Es fließt kein echtes Geld.",
	"Order":                           "Bestellung",
	"PayPal order":                    "PayPal-Bestellung",
	"Approve the payment as the buyer would in PayPal, cancel and return to the payment page, or fail it as PayPal declining it.": "Genehmigen Sie die Zahlung wie ein Käufer in PayPal, brechen Sie ab und kehren Sie zur Zahlungsseite zurück, oder lassen Sie sie scheitern, als lehne PayPal sie ab.",
	"Approve payment":           "Zahlung genehmigen",
	"Cancel and return":         "Abbrechen und zurückkehren",
	"Fail (PayPal declines)":    "Scheitern lassen (PayPal lehnt ab)",
	"Unknown PayPal result.":    "Unbekanntes PayPal-Ergebnis.",
	MsgCardRejected.Message:     "Die Zahlungsmethode hat die Anfrage abgelehnt.",
	MsgMethodNotAllowed.Message: "Zahlungsmethode nicht erlaubt.",
}

// frenchText is the French of the hosted pages.
var frenchText = map[string]string{
	"Payment":                 "Paiement",
	"Pay by card":             "Payer par carte",
	"3-D Secure":              "3-D Secure",
	"Payment link":            "Lien de paiement",
	"Payment completed":       "Paiement terminé",
	"Payment cancelled":       "Paiement annulé",
	"Card":                    "Carte",
	"Order %s":                "Commande %s",
	"Card number":             "Numéro de carte",
	"Name on card":            "Nom sur la carte",
	"Expiry month (MM)":       "Mois d’expiration (MM)",
	"Expiry year (YY)":        "Année d’expiration (AA)",
	"Security code":           "Code de sécurité",
	"Pay":                     "Payer",
	"Cancel":                  "Annuler",
	"Complete authentication": "Valider l’authentification",
	"Fail authentication":     "Faire échouer l’authentification",
	"Payment status: %s":      "Statut du paiement : %s",
	"3-D Secure simulator: card %s. Complete or fail the challenge.":  "Simulateur 3-D Secure : carte %s. Validez ou faites échouer l’authentification.",
	"This payment link has been cancelled.":                           "Ce lien de paiement a été annulé.",
	"This payment link has expired.":                                  "Ce lien de paiement a expiré.",
	"This payment link has been paid.":                                "Ce lien de paiement a déjà été payé.",
	"The previous payment was cancelled. You can pay again.":          "Le paiement précédent a été annulé. Vous pouvez payer à nouveau.",
	"The previous payment did not go through (%s) You can try again.": "Le paiement précédent n’a pas abouti (%s) Vous pouvez réessayer.",
	"This payment has expired.":                                       "Ce paiement a expiré.",
	"The form could not be read.":                                     "Le formulaire n’a pas pu être lu.",
	"Unknown 3-D Secure result.":                                      "Résultat 3-D Secure inconnu.",
	"internal error":                                                  "Erreur interne",
	msgPageNoCards:                                                    "Les paiements par carte ne sont pas disponibles sur cette page : le marchand authentifie ses paiements avec son propre fournisseur 3-D Secure.",
	"Payment authorised":                                              "Paiement autorisé",
	"Payment failed":                                                  "Paiement échoué",
	"Payment expired":                                                 "Paiement expiré",
	"Payment not completed":                                           "Paiement non terminé",
	"Thank you: your payment has been received.":                      "Merci : votre paiement a bien été reçu.",
	"Your payment has been authorised: the merchant collects it when your order is processed.": "Votre paiement a été autorisé : le marchand l’encaissera lors du traitement de votre commande.",
	"Your payment did not go through and no money was taken.":                                  "Votre paiement n’a pas abouti et aucun montant n’a été débité.",
	"The payment was cancelled and no money was taken.":                                        "Le paiement a été annulé et aucun montant n’a été débité.",
	"The payment was not completed in time and no money was taken.":                            "Le paiement n’a pas été terminé à temps et aucun montant n’a été débité.",
	"This payment has not been completed yet.":                                                 "Ce paiement n’est pas encore terminé.",
	msgResultUnknown: "Ce paiement est introuvable.",
	"Preview: no payment can be made on this page.": "Aperçu : aucun paiement n’est possible sur cette page.",
	StPending: "En attente", StAuthorised: "Autorisé", StPaid: "Payé", StFailed: "Échoué", StCancelled: "Annulé",
	StExpired: "Expiré", StRefunded: "Remboursé", StPartiallyRefunded: "Partiellement remboursé",
	"completed": "terminé", "cancelled": "annulé",
	MsgPageNotFound.Message:                                             "La page de paiement indiquée n’existe pas.",
	MsgJobFinal.Message:                                                 "Cet ordre de paiement est déjà clôturé.",
	MsgRefused.Message:                                                  "Le paiement a été refusé.",
	MsgNo3DS.Message:                                                    "Les paiements par carte sans 3D Secure ne sont pas autorisés.",
	Msg3DSFailed.Message:                                                "Échec de l’authentification 3D Secure – le paiement ne peut pas continuer.",
	Msg3DSUnavailable.Message:                                           "Authentification 3D Secure indisponible – le paiement ne peut pas continuer.",
	MsgCommunication.Message:                                            "Erreur de communication.",
	"The card number is required.":                                      "Le numéro de carte est obligatoire.",
	"The card number is not valid.":                                     "Le numéro de carte n’est pas valide.",
	"The card expiry date is not valid.":                                "La date d’expiration de la carte n’est pas valide.",
	"The card has expired.":                                             "La carte a expiré.",
	"The card security code must be 3 or 4 digits.":                     "Le code de sécurité de la carte doit comporter 3 ou 4 chiffres.",
	"The cardholder name must be at most 100 characters.":               "Le nom du titulaire doit comporter au plus 100 caractères.",
	"The card expiry month must be MM, 01 to 12.":                       "Le mois d’expiration doit être MM, de 01 à 12.",
	"The card expiry year must be YY (or YYYY).":                        "L’année d’expiration doit être AA (ou AAAA).",
	"The cardholder name is required for cards enrolled in 3-D Secure.": "Le nom du titulaire est obligatoire pour les cartes inscrites à 3-D Secure.",
	"The card acquirer could not be reached.":                           "L’acquéreur de la carte est injoignable.",
	// PayPal (paypal.go, templates/paypal.html)
	"Pay with PayPal":                 "Payer avec PayPal",
	"or pay by card":                  "ou payer par carte",
	"PayPal sandbox simulator":        "Simulateur sandbox PayPal",
	"Test mode: no real money moves.": "Mode test : aucun argent réel ne circule.",
	"Order":                           "Commande",
	"PayPal order":                    "Commande PayPal",
	"Approve the payment as the buyer would in PayPal, cancel and return to the payment page, or fail it as PayPal declining it.": "Approuvez le paiement comme l’acheteur le ferait dans PayPal, annulez et revenez à la page de paiement, ou faites-le échouer comme si PayPal le refusait.",
	"Approve payment":           "Approuver le paiement",
	"Cancel and return":         "Annuler et revenir",
	"Fail (PayPal declines)":    "Faire échouer (PayPal refuse)",
	"Unknown PayPal result.":    "Résultat PayPal inconnu.",
	MsgCardRejected.Message:     "Le moyen de paiement a refusé la demande.",
	MsgMethodNotAllowed.Message: "Moyen de paiement non autorisé.",
}
