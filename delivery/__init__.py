"""delivery: getting survey invitations to people, as a library the application composes.

- ``phones``: phone numbers and email addresses normalised (``phonenumbers``), landlines recognised.
- ``rules``: who is invited, on which channel, when, or the reason why not (pure functions).
- ``composer``: SMS segment counting (GSM-7/UCS-2), the unaccented fallback, the bundled SMS texts.
- ``email``: invitation and reminder emails with one-click rating buttons.
- ``channels``: ``send(message) -> DeliveryResult`` over Twilio SMS, SMTP email, or the sandbox.
- ``twilio_status``: status callback signatures and out-of-order status updates.
- ``throttle``: a token bucket per channel; ``qr``: QR codes; ``tokens``: survey link tokens.

Nothing here imports Litestar or Piccolo, and nothing is re-exported here, so that importing one
module does not load the SDKs of the others.
"""
