"""The payment service: payment requests, provider callbacks, the payment window, refunds."""
