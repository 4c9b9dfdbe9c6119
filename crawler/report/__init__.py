"""`scrapy report`: one self-contained HTML page of a site's history (crawler.report.page),
its charts drawn as inline SVG in Python (crawler.report.svg): nothing is fetched to view it."""
