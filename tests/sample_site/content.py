"""Deterministic Vietnamese article content for the sample VOV-style site.

The end-to-end tests compare what the crawler extracts with a *gold text*
computed here, so the content must be reproducible (``random.Random(seed)``
only, never the clock) and realistic enough to exercise a real extractor:
proper Vietnamese with diacritics (NFC), inline markup, ``&nbsp;`` entities,
sub-headings and quotes inside the body.

Every ``Block`` carries both its gold text and its HTML, so the renderer and
the gold can never drift apart.  Titles are drawn from a bank of
subject/action fragments combined with a place name; each combination is used
at most once, which makes every title (and therefore every lead, which repeats
the title's clause) distinct.
"""

from __future__ import annotations

import html
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7))

#: The four sections that hold articles, in menu order (slug -> display name).
CATEGORIES: dict[str, str] = {
    "the-gioi": "Thế giới",
    "chinh-tri": "Chính trị",
    "kinh-te": "Kinh tế",
    "xa-hoi": "Xã hội",
}

#: Extra menu sections that exist on vov.vn but hold no article here.
MENU_ONLY_CATEGORIES: dict[str, str] = {
    "quan-su-quoc-phong": "Quân sự - Quốc phòng",
    "phap-luat": "Pháp luật",
    "van-hoa-giai-tri": "Văn hóa - Giải trí",
    "the-thao": "Thể thao",
    "suc-khoe": "Sức khỏe",
    "doi-song": "Đời sống",
    "du-lich": "Du lịch",
    "cong-nghe": "Công nghệ",
    "oto-xe-may": "Ô tô - Xe máy",
    "bat-dong-san": "Bất động sản",
    "media": "Media",
    "podcast": "Podcast",
    "infographic": "Infographic",
    "diem-bao": "Điểm báo",
}

COUNTRIES: tuple[str, ...] = (
    "Nga", "Ukraine", "Mỹ", "Trung Quốc", "Nhật Bản", "Hàn Quốc", "Pháp", "Đức",
    "Anh", "Ấn Độ", "Israel", "Iran", "Thổ Nhĩ Kỳ", "Indonesia", "Philippines",
    "Thái Lan", "Australia", "Brazil", "Ai Cập", "Saudi Arabia", "Canada", "Italy",
    "Tây Ban Nha", "Ba Lan", "Hungary", "Triều Tiên", "Singapore", "Malaysia",
    "Nam Phi", "Mexico", "Argentina", "Campuchia", "Lào", "Myanmar", "New Zealand",
    "Hà Lan", "Thụy Điển", "Phần Lan", "Kenya", "Pakistan",
)

PROVINCES: tuple[str, ...] = (
    "Hà Nội", "TP.HCM", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Quảng Ninh", "Nghệ An",
    "Thanh Hóa", "Thừa Thiên Huế", "Khánh Hòa", "Lâm Đồng", "Đắk Lắk", "Gia Lai",
    "Kon Tum", "Bình Định", "Quảng Nam", "Quảng Ngãi", "Bình Dương", "Đồng Nai",
    "Bà Rịa - Vũng Tàu", "Long An", "Tiền Giang", "Bến Tre", "An Giang",
    "Kiên Giang", "Cà Mau", "Sóc Trăng", "Bạc Liêu", "Lào Cai", "Yên Bái",
    "Hà Giang", "Cao Bằng", "Lạng Sơn", "Sơn La", "Điện Biên", "Lai Châu",
    "Thái Nguyên", "Bắc Ninh", "Bắc Giang", "Hải Dương", "Hưng Yên", "Thái Bình",
    "Nam Định", "Ninh Bình", "Hà Tĩnh", "Quảng Bình", "Quảng Trị", "Phú Yên",
    "Ninh Thuận", "Bình Thuận", "Tây Ninh", "Bình Phước", "Đắk Nông", "Vĩnh Long",
    "Trà Vinh", "Đồng Tháp", "Hậu Giang", "Hòa Bình", "Phú Thọ", "Vĩnh Phúc",
    "Tuyên Quang", "Bắc Kạn", "Hà Nam",
)

# Title fragments: (subject as in a title, subject mid-sentence, actions).
# "{place}" is a country for "the-gioi" and a province elsewhere.
TitleParts = tuple[str, str, tuple[str, ...]]
TITLE_PARTS: dict[str, tuple[TitleParts, ...]] = {
    "the-gioi": (
        ("Ngoại trưởng {place}", "Ngoại trưởng {place}", (
            "kêu gọi nối lại đàm phán hòa bình",
            "điện đàm với người đồng cấp Việt Nam",
            "bắt đầu chuyến công du Đông Nam Á")),
        ("Quốc hội {place}", "Quốc hội {place}", (
            "thông qua dự luật ngân sách mới",
            "bỏ phiếu về gói viện trợ quân sự")),
        ("Chính phủ {place}", "Chính phủ {place}", (
            "công bố gói hỗ trợ kinh tế mới",
            "ban bố tình trạng khẩn cấp do lũ lụt",
            "siết chặt quy định nhập cư")),
        ("Quân đội {place}", "quân đội {place}", (
            "tổ chức tập trận quy mô lớn",
            "nâng mức cảnh báo an ninh")),
        ("Ngân hàng trung ương {place}", "ngân hàng trung ương {place}", (
            "giữ nguyên lãi suất cơ bản",
            "phát tín hiệu cắt giảm lãi suất")),
        ("Người dân {place}", "người dân {place}", (
            "đối mặt đợt nắng nóng kỷ lục",
            "xuống đường phản đối giá năng lượng tăng cao")),
        ("Giới chức {place}", "giới chức {place}", (
            "cảnh báo nguy cơ tấn công mạng",
            "điều tra vụ tai nạn máy bay nghiêm trọng")),
        ("Lãnh đạo {place}", "lãnh đạo {place}", (
            "cam kết thúc đẩy quan hệ với Việt Nam",
            "dự hội nghị thượng đỉnh về khí hậu")),
        ("Cơ quan khí tượng {place}", "cơ quan khí tượng {place}", (
            "cảnh báo bão mạnh sắp đổ bộ",
            "dự báo mùa hè nóng nhất trong nhiều thập kỷ")),
    ),
    "chinh-tri": (
        ("Thủ tướng", "Thủ tướng", (
            "kiểm tra tiến độ dự án cao tốc qua {place}",
            "chủ trì hội nghị xúc tiến đầu tư vào {place}",
            "chỉ đạo khắc phục hậu quả thiên tai tại {place}")),
        ("Chủ tịch nước", "Chủ tịch nước", (
            "tiếp xúc cử tri {place}",
            "thăm lực lượng vũ trang đóng quân tại {place}")),
        ("Chủ tịch Quốc hội", "Chủ tịch Quốc hội", (
            "làm việc với lãnh đạo chủ chốt {place}",
            "dự lễ kỷ niệm ngày giải phóng {place}")),
        ("Phó Thủ tướng", "Phó Thủ tướng", (
            "kiểm tra công tác phòng chống hạn mặn tại {place}",
            "đôn đốc giải ngân vốn đầu tư công ở {place}")),
        ("Đoàn công tác Trung ương", "Đoàn công tác Trung ương", (
            "kiểm tra công tác xây dựng Đảng tại {place}",)),
        ("Bộ Nội vụ", "Bộ Nội vụ", (
            "hướng dẫn sắp xếp đơn vị hành chính cấp xã tại {place}",)),
        ("Ủy ban Trung ương Mặt trận Tổ quốc", "Ủy ban Trung ương Mặt trận Tổ quốc", (
            "phát động phong trào xóa nhà tạm tại {place}",)),
        ("Đoàn đại biểu Quốc hội", "Đoàn đại biểu Quốc hội", (
            "giám sát việc thực hiện chính sách an sinh tại {place}",)),
        ("Bộ trưởng Ngoại giao", "Bộ trưởng Ngoại giao", (
            "tiếp đoàn doanh nghiệp nước ngoài đầu tư tại {place}",)),
    ),
    "kinh-te": (
        ("Giá lúa gạo", "giá lúa gạo", (
            "tăng mạnh tại {place}",
            "ổn định ở mức cao tại {place}")),
        ("Xuất khẩu nông sản của {place}", "xuất khẩu nông sản của {place}", (
            "tăng trưởng hai con số",
            "tìm hướng đi mới vào thị trường châu Âu")),
        ("Doanh nghiệp {place}", "doanh nghiệp {place}", (
            "thiếu hụt lao động sau Tết",
            "chuyển đổi số để mở rộng thị trường")),
        ("Các khu công nghiệp tại {place}", "các khu công nghiệp tại {place}", (
            "hút mạnh vốn đầu tư nước ngoài",)),
        ("Nông dân {place}", "nông dân {place}", (
            "trúng mùa sầu riêng",
            "lo lắng vì giá phân bón tăng cao")),
        ("Các ngân hàng tại {place}", "các ngân hàng tại {place}", (
            "đẩy mạnh cho vay sản xuất kinh doanh",)),
        ("Thị trường bất động sản {place}", "thị trường bất động sản {place}", (
            "có dấu hiệu ấm lên",)),
        ("Du lịch {place}", "du lịch {place}", (
            "đón lượng khách kỷ lục dịp nghỉ lễ",)),
        ("Giá sầu riêng tại {place}", "giá sầu riêng tại {place}", (
            "giảm sâu vào cuối vụ",)),
    ),
    "xa-hoi": (
        ("Mưa lớn gây ngập úng", "mưa lớn gây ngập úng", (
            "nhiều tuyến phố ở {place}",)),
        ("Nắng nóng gay gắt", "nắng nóng gay gắt", (
            "kéo dài tại {place}",)),
        ("Người dân {place}", "người dân {place}", (
            "thiếu nước sinh hoạt trong mùa khô",
            "phấn khởi nhận sổ đỏ sau nhiều năm chờ đợi")),
        ("Thí sinh {place}", "thí sinh {place}", (
            "bước vào kỳ thi tuyển sinh lớp 10",)),
        ("Công an {place}", "Công an {place}", (
            "triệt phá đường dây lừa đảo qua mạng",
            "tăng cường xử lý vi phạm nồng độ cồn")),
        ("Sạt lở đất", "sạt lở đất", (
            "đe dọa hàng trăm hộ dân ở {place}",)),
        ("Các bệnh viện ở {place}", "các bệnh viện ở {place}", (
            "quá tải vì bệnh nhân sốt xuất huyết",)),
        ("Học sinh {place}", "học sinh {place}", (
            "được miễn học phí từ năm học mới",)),
        ("Hàng nghìn hộ dân {place}", "hàng nghìn hộ dân {place}", (
            "được hỗ trợ xóa nhà tạm",)),
    ),
}

SENTENCES: dict[str, tuple[str, ...]] = {
    "the-gioi": (
        "Theo các nhà phân tích, căng thẳng leo thang có thể gây xáo trộn chuỗi cung ứng toàn cầu trong nhiều tháng tới.",
        "Người phát ngôn Bộ Ngoại giao {place} cho biết nước này luôn ủng hộ giải quyết tranh chấp bằng biện pháp hòa bình.",
        "Liên hợp quốc cảnh báo tình hình nhân đạo tại khu vực xung đột đang xấu đi nhanh chóng.",
        "Hàng nghìn người đã phải sơ tán khỏi nhà khi giao tranh lan rộng tới các khu dân cư.",
        "Giới quan sát nhận định cuộc gặp lần này mở ra cơ hội nối lại đối thoại giữa các bên.",
        "Giá dầu thế giới tăng hơn 2% ngay sau khi thông tin được công bố.",
        "Các nước thành viên Liên minh châu Âu dự kiến thảo luận thêm về gói trừng phạt mới vào cuối tháng.",
        "Trong tuyên bố chung, hai bên nhất trí tăng cường hợp tác trong các lĩnh vực thương mại, năng lượng và công nghệ.",
        "Truyền thông địa phương đưa tin lực lượng cứu hộ vẫn đang tìm kiếm những người mất tích.",
        "Cơ quan khí tượng {place} dự báo nắng nóng gay gắt sẽ kéo dài đến hết tuần sau.",
        "Đây là chuyến công du nước ngoài đầu tiên của nhà lãnh đạo này kể từ khi nhậm chức.",
        "Tổng thư ký Liên hợp quốc kêu gọi các bên kiềm chế, tránh các hành động làm phức tạp thêm tình hình.",
        "Một số nhà kinh tế cho rằng lạm phát tại nhiều nền kinh tế lớn đã bắt đầu hạ nhiệt.",
        "Cuộc thăm dò dư luận mới nhất cho thấy tỷ lệ ủng hộ chính phủ đã giảm xuống mức thấp nhất trong hai năm.",
        "Phía {place} khẳng định sẽ có biện pháp đáp trả tương xứng nếu lợi ích quốc gia bị đe dọa.",
        "Hội nghị cấp cao ASEAN năm nay dự kiến tập trung vào an ninh lương thực và chuyển đổi số.",
        "Các hãng hàng không đã hủy hàng trăm chuyến bay do ảnh hưởng của bão.",
        "Giới chức y tế khuyến cáo người dân hạn chế ra ngoài vào thời điểm nhiệt độ cao nhất trong ngày.",
        "Kim ngạch thương mại song phương năm ngoái đạt mức kỷ lục, vượt xa kỳ vọng ban đầu.",
        "Phát biểu tại cuộc họp báo, ông nhấn mạnh không có giải pháp quân sự cho cuộc khủng hoảng hiện nay.",
        "Nhiều chuyên gia lo ngại xung đột kéo dài sẽ đẩy giá lương thực tăng cao tại các nước nghèo.",
        "Các cuộc đàm phán dự kiến sẽ tiếp tục vào tuần tới tại một nước trung gian.",
    ),
    "chinh-tri": (
        "Phát biểu chỉ đạo, lãnh đạo Chính phủ yêu cầu các bộ, ngành khẩn trương tháo gỡ vướng mắc về thể chế.",
        "Hội nghị đã thống nhất cao về chủ trương đẩy mạnh phân cấp, phân quyền cho địa phương.",
        "Cử tri {place} kiến nghị cần có chính sách hỗ trợ mạnh mẽ hơn cho người dân vùng khó khăn.",
        "Công tác phòng, chống tham nhũng, tiêu cực tiếp tục được triển khai quyết liệt, không có vùng cấm.",
        "Quốc hội sẽ xem xét, cho ý kiến về nhiều dự án luật quan trọng tại kỳ họp tới.",
        "Lãnh đạo {place} cam kết tạo mọi điều kiện thuận lợi để nhà đầu tư yên tâm triển khai dự án.",
        "Đoàn công tác ghi nhận những kết quả tích cực trong phát triển kinh tế - xã hội của địa phương.",
        "Việc sắp xếp tổ chức bộ máy phải bảo đảm tinh gọn, hoạt động hiệu lực, hiệu quả.",
        "Đại biểu đề nghị làm rõ trách nhiệm của người đứng đầu trong việc chậm triển khai các dự án.",
        "Chương trình xóa nhà tạm, nhà dột nát đã hỗ trợ hàng nghìn hộ gia đình có nơi ở ổn định.",
        "Hai bên nhất trí tiếp tục làm sâu sắc hơn quan hệ hữu nghị truyền thống và hợp tác toàn diện.",
        "Công tác cán bộ được xác định là khâu then chốt, quyết định sự thành công của mọi chủ trương.",
        "Lãnh đạo Chính phủ đề nghị {place} phát huy tiềm năng, lợi thế để trở thành cực tăng trưởng của vùng.",
        "Tại buổi tiếp xúc, nhiều ý kiến bày tỏ sự đồng tình cao với chủ trương của Đảng và Nhà nước.",
        "Các cấp ủy đảng cần chủ động nắm bắt tình hình tư tưởng của cán bộ, đảng viên và nhân dân.",
        "Dự thảo luật được xây dựng trên cơ sở tổng kết thực tiễn thi hành trong hơn mười năm qua.",
        "Đây là dịp để các cấp, các ngành nhìn lại chặng đường đã qua và đề ra phương hướng cho giai đoạn mới.",
        "Thủ tướng nhấn mạnh tinh thần nói đi đôi với làm, đã cam kết thì phải thực hiện.",
        "Ủy ban Thường vụ Quốc hội đã cho ý kiến về việc chuẩn bị nội dung trình Quốc hội.",
        "Ngoại giao kinh tế được xác định là một trong những động lực quan trọng cho phát triển đất nước.",
        "Địa phương đã hoàn thành việc sắp xếp các đơn vị hành chính cấp xã theo đúng lộ trình đề ra.",
        "Việc lấy ý kiến nhân dân được tổ chức rộng rãi, công khai và dân chủ.",
    ),
    "kinh-te": (
        "Theo số liệu của Tổng cục Thống kê, chỉ số giá tiêu dùng bình quân tăng 3,8% so với cùng kỳ năm trước.",
        "Kim ngạch xuất khẩu của {place} trong bốn tháng đầu năm đạt hơn 1,2 tỷ USD.",
        "Nhiều doanh nghiệp cho biết đơn hàng đã phục hồi rõ rệt kể từ đầu quý II.",
        "Ngân hàng Nhà nước tiếp tục chỉ đạo các tổ chức tín dụng giảm lãi suất cho vay để hỗ trợ sản xuất.",
        "Giá vàng miếng trong nước đứng ở mức cao, chênh lệch lớn so với giá vàng thế giới.",
        "Các chuyên gia khuyến cáo nhà đầu tư cần thận trọng trước những biến động khó lường của thị trường.",
        "Tiến độ giải ngân vốn đầu tư công vẫn chậm so với kế hoạch, mới đạt khoảng 20% kế hoạch năm.",
        "Nông dân {place} phấn khởi vì vụ mùa năm nay được giá, nhiều hộ thu lãi hàng trăm triệu đồng.",
        "Thị trường bất động sản có dấu hiệu ấm lên, nhất là ở phân khúc nhà ở vừa túi tiền.",
        "Lượng khách quốc tế đến Việt Nam trong tháng qua tăng mạnh, góp phần thúc đẩy ngành dịch vụ.",
        "Doanh nghiệp kiến nghị đơn giản hóa thủ tục hành chính để giảm chi phí tuân thủ.",
        "Giá xăng dầu trong nước được điều chỉnh tăng nhẹ tại kỳ điều hành chiều nay.",
        "Nhiều khu công nghiệp tại {place} đang thu hút mạnh dòng vốn đầu tư trực tiếp nước ngoài.",
        "Chỉ số VN-Index kết thúc phiên giao dịch trong sắc xanh với thanh khoản cải thiện.",
        "Sầu riêng tiếp tục là mặt hàng dẫn đầu kim ngạch xuất khẩu rau quả.",
        "Bộ Tài chính đề xuất tiếp tục giảm 2% thuế giá trị gia tăng đến hết năm nay.",
        "Chi phí logistics cao vẫn là rào cản lớn đối với sức cạnh tranh của hàng hóa Việt Nam.",
        "Các hợp tác xã đã chủ động liên kết với doanh nghiệp để bao tiêu sản phẩm cho nông dân.",
        "Tăng trưởng tín dụng từ đầu năm đến nay đạt thấp hơn so với cùng kỳ năm ngoái.",
        "Các chuyên gia dự báo tăng trưởng GDP cả năm có thể đạt mục tiêu đề ra nếu duy trì được đà phục hồi.",
        "Nguồn cung điện cho mùa khô được bảo đảm nhờ các nhà máy thủy điện tích nước tốt.",
        "Hoạt động thương mại điện tử tiếp tục tăng trưởng nhanh, đặc biệt ở khu vực nông thôn.",
    ),
    "xa-hoi": (
        "Cơ quan chức năng {place} đã khẩn trương có mặt tại hiện trường để khắc phục sự cố.",
        "Trung tâm Dự báo khí tượng thủy văn quốc gia cho biết mưa lớn có thể gây lũ quét và sạt lở đất.",
        "Nhiều trường học đã chủ động điều chỉnh kế hoạch giảng dạy để bảo đảm an toàn cho học sinh.",
        "Bộ Y tế khuyến cáo người dân tiêm vaccine đầy đủ và giữ gìn vệ sinh cá nhân.",
        "Lực lượng cảnh sát giao thông tăng cường tuần tra, xử lý nghiêm các trường hợp vi phạm nồng độ cồn.",
        "Người dân {place} mong muốn sớm có nước sạch sinh hoạt trong mùa khô hạn.",
        "Kỳ thi tốt nghiệp trung học phổ thông năm nay có hơn một triệu thí sinh đăng ký dự thi.",
        "Các bệnh viện tuyến cuối đang trong tình trạng quá tải, nhiều bệnh nhân phải nằm ghép.",
        "Chính quyền địa phương đã hỗ trợ lương thực và nhu yếu phẩm cho các hộ dân bị ảnh hưởng.",
        "Tình trạng xâm nhập mặn đang ảnh hưởng đến hàng nghìn héc-ta lúa ở vùng đồng bằng.",
        "Công an đã khởi tố vụ án, bắt tạm giam các đối tượng để điều tra làm rõ hành vi lừa đảo.",
        "Các tình nguyện viên đã đến tận nơi hỗ trợ người già và trẻ em trong khu vực bị cô lập.",
        "Hàng trăm hộ dân ở {place} phải di dời khẩn cấp khỏi vùng có nguy cơ sạt lở cao.",
        "Ngành giáo dục đề xuất tăng lương cho giáo viên mầm non nhằm thu hút người giỏi vào nghề.",
        "Bảo hiểm xã hội Việt Nam cho biết số người tham gia bảo hiểm tự nguyện tiếp tục tăng.",
        "Các chuyên gia y tế lưu ý nắng nóng kéo dài có thể làm gia tăng các bệnh về hô hấp ở trẻ nhỏ.",
        "Nhờ được phát hiện kịp thời, đám cháy đã được dập tắt, không gây thiệt hại về người.",
        "Dịch vụ công trực tuyến giúp người dân tiết kiệm nhiều thời gian và chi phí đi lại.",
        "Nhiều tuyến đường tại trung tâm thành phố bị ngập sâu sau trận mưa lớn kéo dài hơn hai giờ.",
        "Chương trình hỗ trợ sinh kế đã giúp nhiều hộ đồng bào dân tộc thiểu số thoát nghèo bền vững.",
        "Lực lượng biên phòng đã phối hợp với ngư dân cứu nạn thành công tàu cá gặp sự cố trên biển.",
        "Thành phố đang triển khai nhiều giải pháp để giảm ùn tắc giao thông vào giờ cao điểm.",
    ),
}

GENERAL_SENTENCES: tuple[str, ...] = (
    "Đây là một trong những nhiệm vụ trọng tâm được đặt ra trong năm nay.",
    "Theo kế hoạch, các hoạt động sẽ được triển khai đồng loạt từ đầu tháng tới.",
    "Nhiều ý kiến cho rằng cần có cơ chế giám sát chặt chẽ hơn trong quá trình thực hiện.",
    "Kết quả bước đầu cho thấy hướng đi này là đúng đắn và cần được nhân rộng.",
    "Những khó khăn, vướng mắc phát sinh sẽ được tổng hợp, báo cáo cấp có thẩm quyền xem xét.",
    "Thông tin chi tiết sẽ được cơ quan chức năng công bố trong thời gian sớm nhất.",
    "Trước đó, vấn đề này đã nhận được sự quan tâm đặc biệt của dư luận.",
    "Các đơn vị liên quan được yêu cầu báo cáo kết quả trước ngày 30 của tháng.",
    "Đến nay, phần lớn các chỉ tiêu đề ra đều đạt và vượt kế hoạch.",
    "Tuy nhiên, vẫn còn không ít hạn chế cần sớm được khắc phục.",
    "Người dân bày tỏ kỳ vọng những thay đổi tích cực sẽ sớm đi vào cuộc sống.",
    "Trong thời gian tới, công tác phối hợp giữa các lực lượng sẽ tiếp tục được tăng cường.",
)

LEAD_DETAILS: dict[str, tuple[str, ...]] = {
    "the-gioi": (
        "Động thái này diễn ra trong bối cảnh căng thẳng khu vực chưa có dấu hiệu hạ nhiệt.",
        "Giới phân tích cho rằng quyết định trên có thể tác động đáng kể tới cục diện khu vực.",
        "Đây là diễn biến mới nhất trong chuỗi sự kiện thu hút sự quan tâm của cộng đồng quốc tế.",
        "Thông tin được truyền thông {place} đồng loạt đưa tin và nhận được nhiều phản ứng trái chiều.",
        "Nhiều nước đã lên tiếng bày tỏ quan ngại trước diễn biến này.",
    ),
    "chinh-tri": (
        "Đây là hoạt động nằm trong chương trình công tác nhằm thúc đẩy phát triển kinh tế - xã hội của địa phương.",
        "Cùng dự có lãnh đạo một số bộ, ngành Trung ương và lãnh đạo {place}.",
        "Sự kiện có ý nghĩa quan trọng trong bối cảnh cả nước đang nỗ lực hoàn thành các mục tiêu của nhiệm kỳ.",
        "Nhiều kiến nghị chính đáng của cử tri và doanh nghiệp đã được tiếp thu, giải đáp.",
        "Hoạt động nhằm cụ thể hóa các nghị quyết của Trung ương trong giai đoạn mới.",
    ),
    "kinh-te": (
        "Diễn biến này khiến nhiều doanh nghiệp và người dân không khỏi lo lắng.",
        "Theo các chuyên gia, đây là tín hiệu tích cực cho thấy nền kinh tế đang dần phục hồi.",
        "Nhiều doanh nghiệp tại {place} đang tận dụng cơ hội để mở rộng sản xuất, kinh doanh.",
        "Con số này cao hơn đáng kể so với cùng kỳ năm ngoái.",
        "Thị trường được dự báo sẽ còn nhiều biến động trong những tháng cuối năm.",
    ),
    "xa-hoi": (
        "Vụ việc đang được cơ quan chức năng tiếp tục điều tra, làm rõ.",
        "Chính quyền {place} đã huy động lực lượng tại chỗ để hỗ trợ người dân.",
        "Sự việc thu hút sự quan tâm của đông đảo người dân trên địa bàn.",
        "Các ngành chức năng khuyến cáo người dân chủ động các biện pháp phòng tránh.",
        "Đây là vấn đề được dư luận đặc biệt quan tâm trong thời gian gần đây.",
    ),
}

SUBHEADINGS: tuple[str, ...] = (
    "Nhiều thách thức phía trước", "Cần giải pháp đồng bộ", "Kỳ vọng từ cơ chế mới",
    "Phản ứng từ cộng đồng quốc tế", "Tín hiệu tích cực", "Những con số biết nói",
    "Bài toán nguồn lực", "Quyết liệt trong chỉ đạo", "Người dân hưởng lợi",
    "Nỗi lo chưa dứt", "Động lực cho tăng trưởng", "Chủ động ứng phó",
    "Lời giải cho bài toán khó", "Hướng tới mục tiêu dài hạn", "Thận trọng với rủi ro",
    "Góc nhìn chuyên gia",
)

QUOTES: tuple[str, ...] = (
    "“Chúng tôi sẽ làm mọi điều có thể để bảo đảm an toàn cho người dân”, người phát ngôn nhấn mạnh.",
    "“Đây là cơ hội để chúng ta bứt phá, nhưng cũng đi kèm không ít thách thức”, một chuyên gia kinh tế nhận định.",
    "“Mục tiêu cao nhất là lợi ích chính đáng của người dân và doanh nghiệp”, lãnh đạo địa phương khẳng định.",
    "“Không thể để tình trạng này kéo dài thêm nữa”, một đại biểu Quốc hội phát biểu.",
    "“Chúng tôi hy vọng các bên sẽ sớm quay lại bàn đàm phán”, nhà ngoại giao này cho biết.",
    "“Năm nay được mùa, được giá nên bà con rất phấn khởi”, một nông dân chia sẻ.",
    "“Việc chuẩn bị đã được tiến hành từ nhiều tháng trước”, đại diện ban tổ chức cho biết.",
    "“Mỗi cán bộ phải là một tấm gương về tinh thần trách nhiệm”, ông nói.",
    "“Thị trường cần thêm thời gian để hấp thụ những thay đổi về chính sách”, bà nhận định.",
    "“Chúng tôi luôn sẵn sàng hợp tác với các đối tác trên tinh thần bình đẳng, cùng có lợi”, ông khẳng định.",
    "“An toàn của học sinh là ưu tiên hàng đầu”, hiệu trưởng nhà trường nói.",
    "“Tình hình vẫn diễn biến phức tạp, không được chủ quan”, đại diện cơ quan chức năng cảnh báo.",
)

TOPIC_TAGS: dict[str, tuple[str, ...]] = {
    "the-gioi": ("Xung đột", "Ngoại giao", "Kinh tế thế giới", "Biến đổi khí hậu", "Bầu cử"),
    "chinh-tri": ("Quốc hội", "Chính phủ", "Xây dựng Đảng", "Phòng chống tham nhũng", "Đối ngoại"),
    "kinh-te": ("Xuất khẩu", "Giá vàng", "Đầu tư công", "Nông sản", "Thị trường"),
    "xa-hoi": ("Thời tiết", "Giáo dục", "Y tế", "An toàn giao thông", "An sinh xã hội"),
}

AUTHORS: tuple[str, ...] = (
    "Thu Hằng", "Minh Hòa", "Hải Yến", "Quang Minh", "Trần Hiếu", "Phạm Nga",
    "Nguyễn Tuấn", "Lê Hà", "Hoàng Anh", "Mai Linh", "Đức Tuấn", "Bích Thủy",
    "Văn Ngọc", "Thanh Hà", "Huyền Trang", "Đỗ Quyên",
)
REGIONS: tuple[str, ...] = (
    "VOV-Bắc Bộ", "VOV-Tây Nguyên", "VOV-Miền Trung", "VOV-ĐBSCL", "VOV-TP.HCM", "VOV-Tây Bắc",
)
CAPTIONS: tuple[str, ...] = (
    "Quang cảnh sự kiện tại {place}. (Ảnh: VOV)",
    "Ảnh minh họa: Reuters",
    "Người dân {place} trong cuộc sống thường ngày. (Ảnh: TTXVN)",
    "Toàn cảnh buổi làm việc. Ảnh: VGP",
    "Lực lượng chức năng có mặt tại hiện trường. Ảnh: VOV",
    "Ảnh: AP",
)


def nfc(text: str) -> str:
    """NFC-normalise and collapse whitespace: the canonical form of gold text."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def strip_diacritics(text: str) -> str:
    """ASCII-fold Vietnamese text (đ -> d), as vov.vn does for URL slugs."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slugify(text: str) -> str:
    """Lowercase hyphenated ASCII slug of a Vietnamese title."""
    ascii_text = strip_diacritics(text).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def tag_id(name: str) -> int:
    """Stable numeric tag id (independent of generation order)."""
    return 100 + zlib.crc32(name.encode("utf-8")) % 90000


def tag_path(name: str) -> str:
    """Root-relative URL of a keyword page, e.g. ``/tu-khoa/nga-tag123``."""
    return f"/tu-khoa/{slugify(name)}-tag{tag_id(name)}"


@dataclass(frozen=True)
class Block:
    """One body element: ``kind`` is ``p``, ``h2`` or ``quote``.

    ``text`` is the gold text (NFC, single spaces); ``html`` the inner HTML
    the page shows (may contain ``<strong>``, ``<em>``, ``<a>``, ``&nbsp;``).
    """

    kind: str
    text: str
    html: str


@dataclass(frozen=True)
class Article:
    """An article (or an article-pattern special page) of the sample site."""

    id: int
    category: str
    title: str
    lead: str  # without the "VOV.VN - " prefix the page shows
    blocks: tuple[Block, ...]
    published: datetime
    lastmod: datetime
    place: str
    author: str
    author_region: str | None  # None -> "<strong>NAME/VOV.VN</strong>"
    tags: tuple[str, ...]
    image: str
    caption: str
    role: str = "common"
    charset: str = "utf-8"
    version: int = 0
    slug: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.slug:
            object.__setattr__(self, "slug", slugify(self.title))

    @property
    def path(self) -> str:
        return f"/{self.category}/{self.slug}-post{self.id}.vov"

    @property
    def legacy_path(self) -> str:
        """The older URL form (`<slug>-<ID>.vov`) that the site answers with a 301 to `path`."""
        return f"/{self.category}/{self.slug}-{self.id}.vov"

    @property
    def url_path(self) -> str:
        """Alias of :attr:`path` (root-relative URL of the article)."""
        return self.path

    @property
    def summary(self) -> str:
        """The lead as shown on the page and in the gold text."""
        return f"VOV.VN - {self.lead}"

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """Gold body paragraphs (paragraphs, sub-headings, quotes) in order."""
        return tuple(block.text for block in self.blocks)

    @property
    def date_text(self) -> str:
        return self.published.strftime("%d/%m/%Y %H:%M")

    @property
    def gold_text(self) -> str:
        return "\n\n".join((self.title, self.summary, *self.paragraphs)) + "\n"


class TitleBank:
    """Hands out unique (subject, action, place) combinations per category; once every
    combination is out, a new round hands them out again as a later phase ("đợt 2"), so a
    site of any size has unique titles (a benchmark's 20,000 articles)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._round = 1
        self._pools: dict[str, list[tuple[str, str, str, str]]] = {}
        self._fill()

    def _fill(self) -> None:
        for category, parts in TITLE_PARTS.items():
            places = COUNTRIES if category == "the-gioi" else PROVINCES
            pool = [
                (subject, mid, action, place)
                for subject, mid, actions in parts
                for action in actions
                for place in places
            ]
            self._rng.shuffle(pool)
            self._pools[category] = pool

    def remaining(self, category: str) -> int:
        return len(self._pools[category])

    def draw(self, category: str) -> tuple[str, str, str, str]:
        """Return (category, title, lead clause, place); falls back to the
        category with most combinations left when ``category`` is exhausted."""
        if not self._pools[category]:
            category = max(self._pools, key=self.remaining)
            if not self._pools[category]:
                self._round += 1
                self._fill()
        subject, mid, action, place = self._pools[category].pop()
        title = f"{subject} {action}".format(place=place)
        if self._round > 1:
            title = f"{title} đợt {self._round}"
        clause = f"{mid} {action}".format(place=place)
        return category, nfc(title), nfc(clause), place


PARTS_OF_DAY = ((5, "Rạng sáng"), (11, "Sáng"), (13, "Trưa"), (18, "Chiều"), (24, "Tối"))


def _time_phrase(published: datetime, rng: random.Random) -> str:
    day = f"{published.day}/{published.month}"
    if rng.random() < 0.3:
        return f"Ngày {day}"
    part = next(name for end_hour, name in PARTS_OF_DAY if published.hour < end_hour)
    return f"{part} {day}"


def _nbsp_html(sentence: str, rng: random.Random) -> str:
    """Escape ``sentence`` replacing one inner space by ``&nbsp;``."""
    words = sentence.split(" ")
    if len(words) < 3:
        return html.escape(sentence, quote=False)
    cut = rng.randint(1, len(words) - 1)
    left, right = " ".join(words[:cut]), " ".join(words[cut:])
    return f"{html.escape(left, quote=False)}&nbsp;{html.escape(right, quote=False)}"


def _linked(escaped: str, place: str) -> str:
    """Turn the first mention of ``place`` into a keyword link."""
    target = html.escape(place, quote=False)
    if target not in escaped:
        return escaped
    anchor = f'<a href="{tag_path(place)}" title="{html.escape(place)}">{target}</a>'
    return escaped.replace(target, anchor, 1)


def paragraph_block(sentences: list[str], place: str, rng: random.Random) -> Block:
    """A ``<p>`` block with randomly chosen inline markup around the sentences."""
    pieces = []
    nbsp_at = rng.randrange(len(sentences)) if rng.random() < 0.35 else -1
    link_place = rng.random() < 0.3
    for index, sentence in enumerate(sentences):
        piece = _nbsp_html(sentence, rng) if index == nbsp_at else html.escape(sentence, quote=False)
        if link_place and (linked := _linked(piece, place)) != piece:
            piece, link_place = linked, False
        if index == 0 and len(sentences) > 1 and rng.random() < 0.25:
            piece = f"<strong>{piece}</strong>"
        elif index == len(sentences) - 1 and index > 0 and rng.random() < 0.2:
            piece = f"<em>{piece}</em>"
        pieces.append(piece)
    separator = "\n" if rng.random() < 0.15 else " "
    inner = separator.join(pieces)
    if rng.random() < 0.1:
        inner += "&nbsp;"
    return Block("p", nfc(" ".join(sentences)), inner)


def text_block(kind: str, text: str) -> Block:
    """A sub-heading or quote block (plain text, escaped)."""
    text = nfc(text)
    return Block(kind, text, html.escape(text, quote=False))


class ArticleWriter:
    """Writes deterministic article content; one instance per site so that
    titles stay unique across later :meth:`SampleSite.add_articles` calls."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"vov-sample-content-{seed}")
        self._titles = TitleBank(random.Random(f"vov-sample-titles-{seed}"))

    def write(self, article_id: int, category: str, published: datetime,
              lastmod: datetime, role: str = "common") -> Article:
        rng = self._rng
        category, title, clause, place = self._titles.draw(category)
        detail = rng.choice(LEAD_DETAILS[category]).format(place=place)
        lead = nfc(f"{_time_phrase(published, rng)}, {clause}. {detail}")
        blocks = self._body(category, place)
        tags = (place, *rng.sample(TOPIC_TAGS[category], rng.randint(1, 2)))
        image = (f"https://media.vov.vn/sites/default/files/styles/large/public/"
                 f"{published:%Y-%m}/{article_id}_{rng.getrandbits(32):08x}.jpg")
        return Article(
            id=article_id, category=category, title=title, lead=lead, blocks=blocks,
            published=published, lastmod=lastmod, place=place,
            author=rng.choice(AUTHORS),
            author_region=rng.choice(REGIONS) if category != "the-gioi" and rng.random() < 0.35 else None,
            tags=tags, image=image,
            caption=nfc(rng.choice(CAPTIONS).format(place=place)), role=role,
        )

    def _body(self, category: str, place: str) -> tuple[Block, ...]:
        rng = self._rng
        pool = [s.format(place=place) for s in SENTENCES[category] + GENERAL_SENTENCES]
        rng.shuffle(pool)
        blocks = []
        for _ in range(rng.randint(4, 9)):
            count = min(rng.randint(2, 3), len(pool))
            sentences, pool = pool[:count], pool[count:]
            blocks.append(paragraph_block(sentences, place, rng))
        if rng.random() < 0.5:
            headings = rng.sample(SUBHEADINGS, 2 if len(blocks) >= 7 else 1)
            for heading in headings:
                blocks.insert(rng.randint(2, len(blocks) - 1), text_block("h2", heading))
        if rng.random() < 0.35:
            blocks.insert(rng.randint(1, len(blocks) - 1), text_block("quote", rng.choice(QUOTES)))
        return tuple(_without_adjacent_headings(blocks))


def _without_adjacent_headings(blocks: list[Block]) -> list[Block]:
    """Drop a sub-heading directly followed by another heading or a quote,
    which no real editor would write."""
    kept = []
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.kind == "h2" and (following is None or following.kind != "p"):
            continue
        kept.append(block)
    return kept


def update_paragraph(article: Article, when: datetime) -> Block:
    """The paragraph :meth:`SampleSite.change_article` appends (unique per version)."""
    text = (f"Cập nhật lúc {when:%H:%M} ngày {when:%d/%m/%Y} (lần {article.version + 1}): "
            f"cơ quan chức năng cho biết sẽ tiếp tục theo dõi và thông tin thêm về diễn biến mới tại {article.place}.")
    return Block("p", nfc(text), html.escape(nfc(text), quote=False))
