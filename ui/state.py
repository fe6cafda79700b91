"""Every st.session_state key the app uses, declared in one place.

session_state holds ids and UI flags only: never balances, stock or other numbers
that must be read fresh from the database.
"""

USER_ID = "auth_user_id"  # int | None: logged-in staff user
SESSION_ID = "auth_session_id"  # str | None: row in auth_session (cookie-backed)
HANDOFF = "auth_handoff_code"  # str | None: one-time code waiting for the browser redirect
LOGIN_ENDED = "auth_login_ended"  # bool: this tab's login ended elsewhere (logout, expiry, …): say so once
LOGIN_NEXT = "auth_login_next"  # str | None: module of the staff page whose address was opened before logging in
FLASH = "flash_message"  # (level, text) shown once at the top of the next run
UNKNOWN_PATHS = "nav_unknown_paths"  # list[str]: addresses this tab asked for that no page has (页面不存在)
NUMBERS_BAD = "numbers_out_of_range"  # set[str]: number boxes (key or label) whose typed value is outside their range

# checkout (积分超市收银台)
CHECKOUT_HOUSEHOLD = "checkout_household_id"
CHECKOUT_CARD = "checkout_card_id"
CHECKOUT_CART = "checkout_cart"  # dict product_id -> qty
CHECKOUT_CART_KEY = "checkout_cart_key"  # idempotency key of the cart being built
CHECKOUT_LAST_RECEIPT = "checkout_last_receipt_id"

# review (评议会)
REVIEW_SESSION = "review_session_id"
REVIEW_CURRENT = "review_current_proposal_id"  # int | None: the item shown large on the projector
REVIEW_TAB = "review_tab"  # the open tab of an open session: a rerun keeps it (the close question is in the last)
REVIEW_PROJECTOR = "review_projector"  # bool: the meeting screen for the projector (no sidebar, large type)
REVIEW_PAST_OPEN = "review_past_open"  # the 往期评议会与纪要 expander is open (lazy: it runs only then)
REVIEW_ATTEND_BOX = "review_attend_box"  # key of the 出席登记 expander: it stays open while people are recorded
PROPOSAL_HOUSEHOLD = "proposal_household_id"  # int | None: household picked on the entry form
PROPOSAL_FORM_KEY = "proposal_form_key"  # str: this browser's nonce in the entry form's idempotency key
PROPOSAL_FORM_ROUND = "proposal_form_round"  # int: bumped after each success, gives the form fresh widgets
HOUSEHOLD_VIEW = "households_view_id"  # int | None: household open in 户积分查询

# volunteer / field scanning
CHECKIN_ACTIVITY = "checkin_activity_id"
DISTRIBUTION_ROUND = "distribution_round_id"

# volunteering (志愿服务)
ACTIVITY_SELECTED = "activities_selected_id"  # activity being managed on the activities page
ACTIVITY_LAST_CREATED = "activities_last_created"  # fingerprint of the last create form: a double submit creates once
CHECKIN_MODE = "checkin_mode"  # "in" / "out"
CHECKIN_CHOOSE = "checkin_choose"  # (household_id, mode) while asking which member of a scanned household
CHECKIN_LAST = "checkin_last_message"  # (level, text) result of the last scan
CERTIFICATE_LAST = "volunteers_certificate_id"  # last issued certificate, offered for download

# dashboards
BOARD_SECTION = "board_section_index"  # int: which section the office TV board shows now

# points supermarket (积分超市) — besides the CHECKOUT_* keys above
CHECKOUT_CAMERA_LAST = "checkout_camera_last"  # sha256 of the last camera photo decoded (decode each photo once)
CHECKOUT_NOTICE = "checkout_notice"  # (level, text) result of the last scan, shown under the scan box
REDEMPTION_RETURN_KEY = "redemptions_return_key"  # idempotency key of the return being confirmed
REDEMPTION_RETURNED = "redemptions_returned_id"  # last return made, offered as a receipt
CARDS_SHEET = "cards_sheet_pdf_ready"  # list of household ids (or None = all) of the sheet last generated

# charity field (党员义田) — besides DISTRIBUTION_ROUND above
FIELD_WORKDAY = "field_workday_id"  # work day (activity with a plot) open on the field page
FIELD_CHOOSE = "field_workday_choose"  # (household_id, [resident ids]) while asking which member of a scanned card
FIELD_NOTICE = "field_notice"  # (level, text) result of the last work-day scan
FIELD_LAST_WRITE = "field_last_write"  # fingerprint of the last harvest / surplus form: a double submit writes once
FIELD_TAB = "field_tab"  # label of the open tab of the field page (lazy tabs: only it runs)
VOLUNTEERS_TAB = "volunteers_tab"  # the same for the volunteers page
RANKINGS_TAB = "rankings_tab"  # the same for the rankings page
OVERVIEW_TAB = "overview_tab"  # the same for the village overview page
BENEFICIARY_LAST = "beneficiary_last_write"  # fingerprint of the last register form
DISTRIBUTION_NOTICE = "distribution_notice"  # (level, text) result of the last delivery scan
DISTRIBUTION_EDIT = "distribution_edit_version"  # int: bumps to reset the adjustment table after a save

# administration (管理) — settings, staff, roster, cycles, audit, first-run set-up
STAFF_SELECTED = "staff_selected_user_id"  # int | None: staff member open in the edit panel
ROSTER_PREVIEWED = "roster_previewed_sha256"  # sha256 of the file whose preview was shown (commit only after it)
OPENING_PREVIEWED = "opening_previewed"  # (sha256, cut-over date) of the points book whose preview was shown
CARDS_LOCAL_OK = "cards_local_ok"  # checkbox: the admin confirmed printing cards whose link is localhost (a test print)
ROSTER_CARDS_LOCAL_OK = "roster_cards_local_ok"  # the same on the roster page
CYCLES_YEAR_END_DONE = "cycles_year_end_done"  # (year, households, points) result of the last run, shown once
SETUP_DONE = "setup_done_username"  # str: first admin created on the set-up page (show "now log in")
ADMIN_CARDS_PDF = "admin_cards_pdf_ids"  # list[int] | None: households of the card sheet generated on the roster page
CERTIFICATE_REQUEST = "volunteers_certificate_request"  # (resident, from, to) last issued: a double click issues once
OUTSIDER_LAST_ADDED = "outsiders_last_added"  # fingerprint of the last 登记 form: a double submit registers once
OUTSIDER_CERT_REQUEST = "outsiders_certificate_request"  # (outsider, from, to) last issued: issued once
OUTSIDER_CERT_LAST = "outsiders_certificate_id"  # last certificate issued to an outside volunteer, to download
LARGE_TEXT = "large_text_switch"  # bool: the sidebar's 大字模式 switch, set from the account each run

# villages (村庄管理)
CONFIRM_OPEN = "confirm_open"  # ui.confirm: the one open 确认 question, (key, token)
