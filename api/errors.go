package api

import (
	"net/http"

	"github.com/steps-dev/steps/pkg/model"
)

// The HTTP layer's half of the error contract: each model error code has
// exactly one HTTP status. The server answers an error with StatusOf its
// code; the client turns a status without a code of its own back into one
// with CodeOf.

var codeStatus = map[string]int{
	model.ECONFLICT:      http.StatusConflict,
	model.EFORBIDDEN:     http.StatusForbidden,
	model.EINTERNAL:      http.StatusInternalServerError,
	model.EINVALID:       http.StatusBadRequest,
	model.EMETHOD:        http.StatusMethodNotAllowed,
	model.ENOTFOUND:      http.StatusNotFound,
	model.ERATELIMITED:   http.StatusTooManyRequests,
	model.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	model.EUNAUTHORIZED:  http.StatusUnauthorized,
	model.EUNAVAILABLE:   http.StatusServiceUnavailable,
	model.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	model.EUNSUPPORTED:   http.StatusUnsupportedMediaType,
}

// narrower lists the codes that name a case of another code's status:
// the same status, a more precise code. They stay out of codeStatus so that
// a bare status maps back to the one general code (CodeOf).
var narrower = map[string]string{
	model.ENOENDPOINT: model.ENOTFOUND,
}

// StatusOf returns the HTTP status for an error code; unknown codes are 500.
func StatusOf(code string) int {
	if general, ok := narrower[code]; ok {
		code = general
	}
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Known reports whether code is one of the contract's error codes (a
// general one or a narrower one). A code a client does not know comes
// from a newer server, or from something else in its place.
func Known(code string) bool {
	_, general := codeStatus[code]
	_, narrow := narrower[code]
	return general || narrow
}

// CodeOf returns the error code for an HTTP status, for responses that carry
// no code of their own (a proxy's 502, say).
func CodeOf(status int) string {
	for code, s := range codeStatus {
		if s == status {
			return code
		}
	}
	switch {
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		// A proxy, or the server, gave up waiting: nothing was refused.
		return model.EUNAVAILABLE
	case status >= 400 && status < 500:
		return model.EINVALID
	}
	return model.EINTERNAL
}
