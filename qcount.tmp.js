const base='http://localhost:3999/api/v1';
async function j(path, opts={}){const r=await fetch(base+path,opts);return r.json();}
(async()=>{
 const login=await j('/auth/login',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({email:'bench-analyst-1@example.com',password:'bench-password-1'})});
 const H={authorization:'Bearer '+login.accessToken};
 const list=await j('/transactions?limit=50',{headers:H}); const id=list.data[0].id;
 const which=process.argv[2];
 const path={get:`/transactions/${id}`,cursor:`/transactions?limit=50&cursor=${list.nextCursor||list.page?.nextCursor||''}`,summary:'/dashboard/summary'}[which];
 console.log(path);
 await new Promise(r=>setTimeout(r,300));
 console.error('MARK');
 for(let i=0;i<20;i++){const r=await fetch(base+path,{headers:H}); await r.text();}
})();
