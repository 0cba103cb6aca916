"""Interface texts of the public pages (survey, counter, opt-out, kiosk), Vietnamese and English."""

from __future__ import annotations

__all__ = ["TEXTS", "page_texts"]

TEXTS: dict[str, dict[str, str]] = {
    "page": {"vi": "Trang", "en": "Page"},
    "next": {"vi": "Tiếp tục", "en": "Continue"},
    "submit": {"vi": "Gửi", "en": "Submit"},
    "back": {"vi": "Quay lại", "en": "Back"},
    "required_note": {"vi": "Câu hỏi có dấu * là bắt buộc.", "en": "Questions marked * must be answered."},
    "optout": {"vi": "Không muốn nhận khảo sát nữa?", "en": "Do not want to receive surveys any more?"},
    "required": {"vi": "bắt buộc", "en": "required"},
    "errors": {"vi": "Vui lòng xem lại các câu hỏi có thông báo bên dưới.",
               "en": "Please check the questions with a message below."},
    "privacy": {"vi": "Câu trả lời chỉ được dùng để nâng cao chất lượng phục vụ và được bảo mật theo quy định.",
                "en": "Your answers are used only to improve our service and are kept confidential."},
    "thanks_title": {"vi": "Xin cảm ơn Ông/Bà!", "en": "Thank you!"},
    "thanks_body": {"vi": "Câu trả lời của Ông/Bà đã được ghi nhận. Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn.",
                    "en": "Your answers have been recorded. Your opinion helps us serve you better."},
    "expired_title": {"vi": "Liên kết khảo sát đã hết hạn", "en": "This survey link has expired"},
    "expired_body": {"vi": "Liên kết này chỉ dùng được trong một thời gian nhất định và thời gian đó đã qua, nên "
                           "không thể trả lời khảo sát qua liên kết này nữa. Xin cảm ơn Ông/Bà đã quan tâm.",
                     "en": "This link could only be used for a limited time, and that time has passed, so the "
                           "survey can no longer be answered through it. Thank you for your interest."},
    "used_title": {"vi": "Khảo sát này đã được trả lời", "en": "This survey has already been answered"},
    "used_body": {"vi": "Câu trả lời qua liên kết này đã được gửi trước đó. Mỗi liên kết chỉ dùng được một lần, "
                        "Ông/Bà không cần làm gì thêm.",
                  "en": "Answers were already sent through this link. Each link can be used only once, so "
                        "there is nothing more you need to do."},
    "unknown_title": {"vi": "Không tìm thấy khảo sát", "en": "Survey not found"},
    "unknown_body": {"vi": "Không có khảo sát nào ở địa chỉ này. Vui lòng kiểm tra lại liên kết trong tin nhắn "
                           "hoặc quét lại mã QR.",
                     "en": "There is no survey at this address. Please check the link in your message or scan "
                           "the QR code again."},
    "limited_title": {"vi": "Quá nhiều lần thử", "en": "Too many attempts"},
    "limited_body": {"vi": "Thiết bị này đã mở quá nhiều liên kết không đúng. Vui lòng thử lại sau {minutes} phút.",
                     "en": "Too many wrong links were opened from this device. Please try again in {minutes} "
                           "minutes."},
    "service_question": {"vi": "Ông/Bà vừa sử dụng dịch vụ nào?", "en": "Which service did you use?"},
    "service_error": {"vi": "Vui lòng chọn dịch vụ Ông/Bà vừa sử dụng.", "en": "Please choose the service you used."},
    "switch_language": {"vi": "Ngôn ngữ", "en": "Language"},
}


def page_texts(lang: str) -> dict[str, str]:
    return {key: texts.get(lang) or texts["vi"] for key, texts in TEXTS.items()}
