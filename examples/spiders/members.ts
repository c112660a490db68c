// The README's login example, as test/forms.test.ts runs it (the README imports from 'crawlkit-ts').
import { Request, Spider, type Response } from '../../src/index.js';

/** Logs in through the site's form (its CSRF token and session cookie included), then crawls the members' pages with that session. */
export default class MembersSpider extends Spider {
  override name = 'members';
  base = this.arg('base', 'http://127.0.0.1:8402').replace(/\/$/, '');

  override async *start() {
    // From the environment, not -a: spider arguments are recorded with the run, in its database.
    const password = process.env.MEMBERS_PASSWORD;
    if (!password) throw new Error('set MEMBERS_PASSWORD');
    const login = await this.fetch(`${this.base}/login`);
    // Every field of the form (the hidden CSRF token, the checked "remember me"), with ours over them.
    const form = login.submitForm({ username: this.arg('user', 'ada'), password });
    const home = await this.fetch(form); // the answer after its redirect, the session cookie now in the crawl's jar
    if (home.$('.welcome').length === 0) throw new Error(`login refused: ${home.$('.error').text() || home.url}`);
    yield new Request(`${this.base}/members/`);
  }

  override async *parse(res: Response) {
    yield* res.followAll('a.member', this.parseMember);
  }

  async *parseMember(res: Response) {
    yield { name: res.$('h1').text(), role: res.$('.role').text() };
  }
}
