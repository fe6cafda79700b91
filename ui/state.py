"""Every st.session_state key the app uses, declared in one place.

session_state holds ids and UI flags only: never balances, stock or other numbers
that must be read fresh from the database.
"""

USER_ID = "auth_user_id"  # int | None: logged-in staff user
SESSION_ID = "auth_session_id"  # str | None: row in auth_session (cookie-backed)
HANDOFF = "auth_handoff_code"  # str | None: one-time code waiting for the browser redirect
FLASH = "flash_message"  # (level, text) shown once at the top of the next run

# checkout (积分超市收银台)
CHECKOUT_HOUSEHOLD = "checkout_household_id"
CHECKOUT_CARD = "checkout_card_id"
CHECKOUT_CART = "checkout_cart"  # dict product_id -> qty
CHECKOUT_CART_KEY = "checkout_cart_key"  # idempotency key of the cart being built
CHECKOUT_LAST_RECEIPT = "checkout_last_receipt_id"

# review (评议会)
REVIEW_SESSION = "review_session_id"

# volunteer / field scanning
CHECKIN_ACTIVITY = "checkin_activity_id"
DISTRIBUTION_ROUND = "distribution_round_id"
