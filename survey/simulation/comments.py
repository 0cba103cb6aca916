"""What simulated people write: comments by topic, wrong-data reports, and the quality team's notes."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["COMMENTS", "NOTES", "WRONG_DATA", "comment_topic"]

# Comments people leave, by what they are about; each entry is (vi, en).
COMMENTS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "praise_agent": (
        ("Tư vấn viên rất nhiệt tình, giải thích rõ ràng, dễ hiểu. Cảm ơn tổng đài!",
         "The agent was very helpful and explained everything clearly. Thank you!"),
        ("Được hướng dẫn chi tiết cách tra cứu quá trình đóng BHXH, rất hài lòng.",
         "I was shown step by step how to look up my contribution record. Very satisfied."),
        ("Giọng nói dễ nghe, trả lời đúng trọng tâm.", "Pleasant voice, straight to the point."),
        ("Cảm ơn chị tư vấn viên đã kiên nhẫn giải đáp cho tôi về chế độ thai sản.",
         "Thanks to the agent for patiently answering my questions about maternity benefits."),
    ),
    "praise_counter": (
        ("Cán bộ một cửa niềm nở, hướng dẫn tận tình, hồ sơ được giải quyết nhanh.",
         "The staff at the counter were friendly and helpful; my case was handled quickly."),
        ("Thủ tục nhanh gọn, nhận kết quả đúng hẹn.", "Quick procedure, result ready on the promised date."),
        ("Nơi ngồi chờ sạch sẽ, có máy lấy số thứ tự nên không phải chen lấn.",
         "Clean waiting area, and the ticket machine means no pushing in the queue."),
        ("Chị cán bộ hướng dẫn tôi kê khai tờ khai rất kỹ, cảm ơn chị.",
         "The officer went through the form with me carefully, thank you."),
    ),
    "praise_online": (
        ("Nộp hồ sơ trực tuyến tiện lợi, không phải đi lại.", "Applying online is convenient, no need to travel."),
        ("Ứng dụng VssID tra cứu thẻ BHYT rất tiện.", "Looking up my health insurance card in VssID is handy."),
        ("Hồ sơ được xử lý nhanh, có tin nhắn báo kết quả.", "My application was handled fast and I got an SMS."),
    ),
    "waiting_call": (
        ("Gọi mấy lần mới gặp được tư vấn viên, chờ máy quá lâu.",
         "I had to call several times before reaching an agent; the wait was far too long."),
        ("Thời gian chờ hơn 10 phút, đề nghị bổ sung thêm tư vấn viên.",
         "I waited over 10 minutes; please add more agents."),
        ("Tổng đài luôn báo bận vào giờ hành chính.", "The line is always busy during office hours."),
        ("Chờ lâu quá, trước Tết gọi mãi không được.", "Waited far too long; before Tết I could not get through."),
    ),
    "waiting_counter": (
        ("Phải chờ rất lâu mới đến lượt, quá đông người.", "I waited a long time for my turn; far too crowded."),
        ("Chỉ có một quầy làm việc trong khi rất đông người chờ.", "Only one counter open while many people waited."),
        ("Hẹn trả kết quả 5 ngày nhưng 2 tuần mới có.", "The result was promised in 5 days but took 2 weeks."),
        ("Dịp trước Tết quá tải, chờ cả buổi sáng.", "Overloaded before Tết, I waited the whole morning."),
    ),
    "courtesy": (
        ("Cán bộ tiếp nhận thái độ cáu gắt, không hướng dẫn mà chỉ bảo về bổ sung.",
         "The officer was irritable and just told me to come back with more papers, no guidance."),
        ("Cán bộ nói chuyện thiếu tôn trọng người dân, cần chấn chỉnh.",
         "The officer spoke disrespectfully to people; this must be corrected."),
        ("Hỏi thì trả lời qua loa, không giải thích rõ.", "Questions were brushed off, nothing was explained."),
        ("Phải đi lại ba lần vì mỗi lần được yêu cầu một loại giấy tờ khác nhau.",
         "I had to come three times because each time they asked for a different document."),
    ),
    "agent_unhelpful": (
        ("Tư vấn viên trả lời chung chung, chưa giải quyết được vấn đề của tôi.",
         "The agent gave a general answer and did not solve my problem."),
        ("Được hẹn gọi lại nhưng không thấy ai gọi.", "I was promised a call back that never came."),
    ),
    "vssid_login": (
        ("Không đăng nhập được VssID, báo lỗi sai mật khẩu dù đã đặt lại.",
         "Cannot log in to VssID: wrong password error even after resetting it."),
        ("Không nhận được mã OTP khi đăng ký tài khoản VssID.", "No OTP code arrives when registering for VssID."),
        ("Ứng dụng VssID hay bị treo, thoát ra khi mở thẻ BHYT.",
         "The VssID app often freezes and closes when I open my health insurance card."),
        ("Xác thực định danh điện tử mức 2 không liên kết được với VssID.",
         "My level-2 electronic ID will not link to VssID."),
    ),
    "vssid_better": (
        ("Ứng dụng VssID bản mới đã đăng nhập nhanh hơn, dễ dùng hơn.",
         "The new VssID version logs in faster and is easier to use."),
        ("Đăng nhập VssID bằng VNeID rất tiện.", "Logging in to VssID with VNeID is very convenient."),
    ),
    "portal": (
        ("Cổng dịch vụ công hay bị lỗi khi tải hồ sơ đính kèm.", "The portal often fails when uploading attachments."),
        ("Hướng dẫn trên cổng khó hiểu, nên có video hướng dẫn.",
         "The instructions on the portal are hard to follow; a video would help."),
    ),
    "suggestion": (
        ("Nên bố trí thêm chỗ gửi xe và ghế ngồi chờ.", "Please add parking space and more seats."),
        ("Đề nghị làm việc thêm sáng thứ Bảy.", "Please open on Saturday mornings as well."),
        ("Nên có số điện thoại hỗ trợ riêng cho người cao tuổi.", "A separate helpline for older people would help."),
    ),
}

WRONG_DATA: tuple[tuple[str, str], ...] = (
    ("Quá trình đóng BHXH bị thiếu 6 tháng năm 2019 khi tôi chuyển công ty.",
     "Six months of 2019 are missing from my contribution record after I changed employer."),
    ("Thẻ BHYT ghi sai ngày sinh của tôi.", "My health insurance card has the wrong date of birth."),
    ("Nơi đăng ký khám chữa bệnh ban đầu không đúng với nơi tôi đã đăng ký.",
     "The registered primary care clinic is not the one I chose."),
    ("Lịch sử khám chữa bệnh có lần khám tôi không hề đi.", "My medical history shows a visit I never made."),
    ("Mức lương đóng BHXH hiển thị thấp hơn thực tế.", "The salary my contributions are based on is shown too low."),
)

NOTES = (
    "Đã gọi lại cho người dân, giải thích và hướng dẫn; người dân đồng ý.",
    "Đã chuyển đơn vị liên quan kiểm tra, điều chỉnh dữ liệu và báo lại người dân.",
    "Đã nhắc nhở công chức, xin lỗi người dân.",
    "Không liên lạc được sau 3 lần gọi; đóng hồ sơ.",
)


def comment_topic(key: str, service: str | None, overall: int, waiting_low: bool, late_in_year: bool,
                   servant_low: bool) -> str:
    """What a person with these answers comments on (a key of :data:`COMMENTS`)."""
    if key == "post-call":
        if overall >= 4:
            return "praise_agent"
        return "waiting_call" if waiting_low else "agent_unhelpful"
    if key == "counter":
        if overall >= 4:
            return "praise_counter"
        if servant_low:
            return "courtesy"
        return "waiting_counter" if waiting_low else "suggestion"
    if service == "VSSID":
        if overall >= 4:
            return "vssid_better" if late_in_year else "praise_online"
        return "vssid_login"
    return "praise_online" if overall >= 4 else "portal"
